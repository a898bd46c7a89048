"""The report's rows for the command line and for progress on long calls.

    OPENBLAS_CORETYPE=Haswell python -m benchmarks.cli [--quick] [--rounds R] [--output docs/benchmarks-cli.md]

- The CLI against the API call it wraps: ``fastrsa compare A.npz B.npz
  --json`` as a process, against a process that loads the same files, aligns
  their words and calls ``fastrsa.rsa`` -- each whole process timed, the two
  in turns, the median of ``rounds`` rounds; N from 1,000 to 60,000 words of
  384-d float32 vectors.
- Progress: the same call with ``progress=True`` (its line written to
  /dev/null) and ``progress=False``, in turns in one process, medians; and
  the time the cost model announced beside the time taken.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .machine import blas_in_use, cpu_model

ROOT = Path(__file__).resolve().parents[1]

_API = """
import sys, fastrsa
a, b = (fastrsa.load_embeddings(path) for path in sys.argv[1:3])
aligned = fastrsa.align(a, b)
print(fastrsa.rsa(aligned.x, aligned.y, method=sys.argv[3]))
"""


def _files(folder, n, dim=384):
    """Two .npz spaces of n words sharing half their dimensions' signal."""
    rng = np.random.default_rng(n)
    words = np.array([f"w{k}" for k in range(n)])
    shared = rng.standard_normal((n, dim)).astype(np.float32)
    paths = []
    for name in ("a", "b"):
        path = Path(folder) / f"{name}-{n}.npz"
        np.savez(path, words=words, vectors=shared + rng.standard_normal((n, dim)).astype(np.float32))
        paths.append(path)
    return paths


def _process_seconds(command):
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def row_cli(folder, n, method, rounds):
    a, b = _files(folder, n)
    commands = {
        "cli": [sys.executable, "-m", "fastrsa", "compare", str(a), str(b), "--method", method, "--json"],
        "api": [sys.executable, "-c", _API, str(a), str(b), method],
    }
    for command in commands.values():  # (compiles or loads the kernels; fills the page cache)
        _process_seconds(command)
    times = {name: [] for name in commands}
    for _ in range(rounds):
        for name, command in commands.items():
            times[name].append(_process_seconds(command))
    return {"n": n, "method": method, **{name: float(np.median(values)) for name, values in times.items()}}


def _in_turns(calls, rounds):
    times = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) for name, values in times.items()}


def row_progress(case, function, args, kwargs, rounds):
    import fastrsa
    from fastrsa import _progress

    call = getattr(fastrsa, function)
    call(*args, **kwargs, progress=False)  # (compiles or loads the kernels)
    with open(os.devnull, "w") as sink:
        real, sys.stderr = sys.stderr, sink
        try:
            seconds = _in_turns({"on": lambda: call(*args, **kwargs, progress=True), "off": lambda: call(*args, **kwargs, progress=False)}, rounds)
        finally:
            sys.stderr = real
    estimate = _progress.estimate_seconds(fastrsa.plan(call, *args, **kwargs).stages)
    return {"case": case, **seconds, "estimate": estimate}


def _progress_cases(quick):
    rng = np.random.default_rng(0)
    n, big = (800, 5000) if quick else (3000, 20000)
    X = rng.standard_normal((n, 100))
    Y = X + rng.standard_normal(X.shape)
    tall = rng.standard_normal((big, 30))
    tall_y = tall + rng.standard_normal(tall.shape)
    return [
        (f"`permutation_test`, Pearson over the pairs, N = {n:,}, 300 permutations", "permutation_test", (X, Y), {"permutations": 300, "seed": 1}),
        (f"`permutation_test`, Spearman, N = {n:,}, 300 permutations", "permutation_test", (X, Y), {"method": "spearman", "permutations": 300, "seed": 1}),
        (f"`permutation_test`, Pearson by the Gram identity, N = {big:,}, 300 permutations", "permutation_test", (tall, tall_y), {"permutations": 300, "seed": 1}),
        (f"`bootstrap_ci`, Pearson over the pairs, N = {n:,}, 200 resamples", "bootstrap_ci", (X, Y), {"n_boot": 200, "seed": 1}),
        (f"`bootstrap_ci`, Spearman, N = {n:,}, 100 resamples", "bootstrap_ci", (X, Y), {"method": "spearman", "n_boot": 100, "seed": 1}),
    ]


def report(cli_rows, progress_rows, quick, rounds):
    lines = [
        "# Benchmarks: the command line and progress",
        "",
        f"Written by `python -m benchmarks.cli{' --quick' if quick else ''}` on {time.strftime('%Y-%m-%d')}: one run, median of "
        f"{rounds} rounds, the paths of a row in turns. {cpu_model()}, {os.cpu_count()} cores. BLAS: {'; '.join(blas_in_use())}; "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}.",
        "",
        "## `fastrsa compare` against the API call it wraps",
        "",
        "Each a whole process: `fastrsa compare A.npz B.npz --json` (its score, the words used, the mean similarities "
        "and the share of pairs more similar in B), against `python -c` loading the two files, aligning their words and "
        "calling `fastrsa.rsa` -- 384-d float32 spaces of N shared words. Target: within 1.3x at every N.",
        "",
        "| N words | method | CLI s | API process s | ratio | within 1.3x |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in cli_rows:
        ratio = row["cli"] / row["api"]
        lines.append(
            f"| {row['n']:,} | {row['method']} | {row['cli']:.2f} | {row['api']:.2f} | {ratio:.2f}x | {'yes' if ratio <= 1.3 else '**no**'} |"
        )
    lines += [
        "",
        "## Progress on long calls",
        "",
        "The same call with `progress=True` (its line written to /dev/null) and `progress=False`, in turns in one process. "
        "Target: under 3 % overhead. The last columns: the time the call announces before it starts (the plan's cost "
        "model at `_tuning.MULTIPLY_ADDS_PER_SECOND` and `BYTES_PER_SECOND`) beside the time it took; the progress line's "
        "time left is measured as the call runs.",
        "",
        "| call | progress off s | progress on s | overhead | under 3 % | announced s | announced / taken |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in progress_rows:
        overhead = row["on"] / row["off"] - 1
        lines.append(
            f"| {row['case']} | {row['off']:.3f} | {row['on']:.3f} | {overhead:+.1%} | {'yes' if overhead < 0.03 else '**no**'} | "
            f"{row['estimate']:.2f} | {row['estimate'] / row['off']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes; writes nothing unless --output is given")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    sizes = [(1000, "pearson"), (5000, "spearman")] if args.quick else [(1000, "pearson"), (10_000, "pearson"), (60_000, "pearson"), (5000, "spearman")]
    with tempfile.TemporaryDirectory() as folder:
        cli_rows = []
        for n, method in sizes:
            cli_rows.append(row_cli(folder, n, method, args.rounds))
            print(cli_rows[-1], file=sys.stderr)
    progress_rows = []
    for case in _progress_cases(args.quick):
        progress_rows.append(row_progress(*case, args.rounds))
        print(progress_rows[-1], file=sys.stderr)
    text = report(cli_rows, progress_rows, args.quick, args.rounds)
    output = args.output or (None if args.quick else ROOT / "docs" / "benchmarks-cli.md")
    if output:
        Path(output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
