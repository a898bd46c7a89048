"""A longer fuzz campaign: the properties of tests/test_fuzz.py, for a time budget.

    python -m tests.fuzz --seconds 600 [--examples 25] [--only test_rsa test_rdm]

Runs the properties in turns, each turn a fresh Hypothesis run of
``--examples`` random examples (no fixed seed, no example database), until
the budget is spent (a turn that has started is finished).  Prints each
failure as it is found, with Hypothesis's falsifying example and a line that
reproduces it, then the cases run per property and a summary line
"N cases, K failures".  A property is retired after ``--max-failures``
failures.  Exit status 0 when nothing failed, 1 otherwise.

A case is one example tried before the failure of its turn; the examples
Hypothesis tries while shrinking a failure are not counted.
"""

import argparse
import functools
import importlib
import os
import re
import sys
import time

from hypothesis import settings


def _parser():
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600, help="time budget (default 600)")
    parser.add_argument("--examples", type=int, default=25, help="examples per property per turn (default 25)")
    parser.add_argument("--max-failures", type=int, default=3, help="failures after which a property is retired")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these properties (test_... names)")
    return parser


def _counted(inner, tally):
    """The inner test of a property, counting in ``tally["cases"]`` the
    examples it runs until the first failure of the turn."""

    @functools.wraps(inner)
    def counted(*args, **kwargs):
        if not tally["failed"]:
            tally["cases"] += 1
        try:
            return inner(*args, **kwargs)
        except BaseException:
            tally["failed"] = True
            raise

    return counted


def _leaves(error):
    """The failures inside a Hypothesis error (several distinct ones come as
    an ExceptionGroup)."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for sub in error.exceptions for leaf in _leaves(sub)]
    return [error]


def _report(name, error):
    """Lines describing one failure: the error, the falsifying example and
    a command that runs that example alone."""
    notes = getattr(error, "__notes__", [])
    message = str(error).strip().splitlines()
    lines = [f"FAIL {name}: {type(error).__name__}: {message[0] if message else ''}"]
    lines += [f"    {line}" for line in message[1:6]]
    example = next((note for note in notes if note.startswith(("Falsifying example", "Failing test case"))), None)
    if example:
        lines += [f"    {line}" for line in example.splitlines()]
        call = re.search(r"\((.*)\)", example, re.S)
        if call:
            arguments = re.sub(r"\s*#.*$", "", call.group(1), flags=re.M)
            arguments = " ".join(arguments.split()).rstrip(",")
            lines.append(
                '    reproduce: python -c "from tests.test_fuzz import *; from tests.fuzz_cases import *; '
                f'{name}.hypothesis.inner_test({arguments})"'
            )
    lines += [f"    {note.strip()}" for note in notes if "reproduce_failure" in note]
    return lines


def main(argv=None):
    args = _parser().parse_args(argv)
    # Before the properties are imported: their settings take these as defaults.
    os.environ["FASTRSA_FUZZ_EXAMPLES"] = str(args.examples)
    settings.register_profile("campaign", derandomize=False, database=None, print_blob=True)
    settings.load_profile("campaign")
    properties = importlib.import_module("tests.test_fuzz").PROPERTIES
    if args.only:
        unknown = set(args.only) - {p.__name__ for p in properties}
        if unknown:
            _parser().error(f"unknown properties {sorted(unknown)}")
        properties = [p for p in properties if p.__name__ in args.only]
    cases = {p.__name__: 0 for p in properties}
    failures = {p.__name__: 0 for p in properties}
    active = list(properties)
    end = time.monotonic() + args.seconds
    while active and time.monotonic() < end:
        for prop in list(active):
            if time.monotonic() >= end:
                break
            name = prop.__name__
            original = prop.hypothesis.inner_test
            tally = {"cases": 0, "failed": False}
            prop.hypothesis.inner_test = _counted(original, tally)
            try:
                prop()
            except Exception as error:  # a property's failure, reported with its example
                for leaf in _leaves(error):
                    failures[name] += 1
                    print("\n".join(_report(name, leaf)), flush=True)
                if failures[name] >= args.max_failures:
                    active.remove(prop)
                    print(f"(retiring {name} after {failures[name]} failures)", flush=True)
            finally:
                prop.hypothesis.inner_test = original
                cases[name] += tally["cases"]
    width = max(map(len, cases))
    print()
    for name in cases:
        print(f"{name:<{width}}  {cases[name]:>7,} cases  {failures[name]:>3} failures")
    total_cases, total_failures = sum(cases.values()), sum(failures.values())
    print(f"{total_cases:,} cases, {total_failures} failures")
    return 1 if total_failures else 0


if __name__ == "__main__":
    sys.exit(main())
