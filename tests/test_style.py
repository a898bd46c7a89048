"""No measured timings in fastrsa's comments and docstrings.

A figure measured once (seconds, "three times faster", a share of the time, a
bandwidth) is stale after the next kernel change or on the next machine, and
nothing checks it.  The code keeps the reasons (what is faster and why);
the figures live in docs/performance.md and the benchmark report.  Sizes of
memory ("8 MB", "2**30 values") and thresholds are not timings and stay.
"""

import ast
import io
import pathlib
import re
import tokenize

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "fastrsa"

_NUMBER = r"\d[\d,.]*"
_RANGE = rf"{_NUMBER}(?:\s*(?:-|–|to)\s*{_NUMBER})?"
_COUNT = r"(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten)"
_FACTOR = rf"{_COUNT}(?:\s*(?:-|–|to)\s*{_COUNT})?"
TIMING = re.compile(
    "|".join(
        [
            rf"\b{_RANGE}\s*(?:s|ms|µs|us|ns|secs?|seconds?|minutes?)\b",  # 0.1 s, 11 ms, 0.74-1.16 s
            rf"\b{_NUMBER}\s*[KMGT]?(?:B|FLOP)/s\b",  # 34.1 GB/s
            rf"\b{_RANGE}\s*%",  # took 60 % of the ranking
            rf"\b{_FACTOR}\s*(?:x|×|times)\s+(?:faster|slower|the speed|as fast|as slow)\b",  # three times faster
            r"\b(?:twice|half|a third|a quarter|a fifth)\s+(?:of\s+)?the\s+(?:speed|time)\b",  # half the time
            r"\btwice\s+as\s+(?:fast|slow)\b",
            r"\b(?:faster|slower)\s+than\s+\d",  # 16 x 16 tiles were faster than 18 x 18
            r"\b(?:took|takes|ran in|runs in)\s+(?:about\s+)?\d[\d,.]*\s*(?:-|–)?\s*[\d,.]*\s*(?:s|ms|µs|us)\b",
            r"\bwon from\b",  # parallel won from about 15,000
        ]
    ),
    re.IGNORECASE,
)

# Timing figures allowed to stay (none now); each entry is (file, the text
# the pattern finds in it).
PENDING = set()


def _blocks(source):
    """(line, text) of every comment block (consecutive comment lines joined)
    and every string statement (docstrings) of ``source``, whitespace
    collapsed so that a figure split over two lines is still one phrase."""
    comments = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            line = token.start[0]
            text = token.string.lstrip("#").strip()
            if comments and comments[-1][1] == line - 1:
                comments[-1] = (comments[-1][0], line, comments[-1][2] + " " + text)
            else:
                comments.append((line, line, text))
    for first, _, text in comments:
        yield first, text
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            yield node.lineno, " ".join(node.value.value.split())


def timings(source):
    """(line, phrase) of every timing figure in the comments and docstrings
    of ``source``, ``line`` where its comment block or docstring begins."""
    return sorted((line, match.group(0)) for line, text in _blocks(source) for match in TIMING.finditer(text))


def _findings():
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE.parent).as_posix()
        for line, phrase in timings(path.read_text(encoding="utf-8")):
            yield name, line, phrase


def test_no_timings_in_comments():
    found = [f"{name}:{line}: {phrase!r}" for name, line, phrase in _findings() if (name, phrase) not in PENDING]
    assert not found, (
        "measured timings in comments or docstrings (move the figure to docs/performance.md, keep the reason):\n"
        + "\n".join(found)
    )


def test_pending_timings_are_still_there():
    found = {(name, phrase) for name, _, phrase in _findings()}
    gone = sorted(PENDING - found)
    assert not gone, f"no longer in the code, so remove from PENDING in tests/test_style.py: {gone}"


# Phrases the comments held before issue 18 (each must be found), and the
# kinds of figure that may stay (none may be).
_TIMINGS = [
    "OpenBLAS's threads spin for about 0.1 s after each threaded call",
    "(a 50-item RSM took 11 ms that way)",
    "256 MB of memory the host has taken back took 0.74-1.16 s to fill",
    "at 768-d, 16 x 16 tiles were faster than 18 x 18",
    "7,812 buckets ranked in 1.78 s, 2,048 in 1.29 s",
    "spare Numba's negative-index check on every access: a third of the time.",
    "about every value, and took 60 % of the ranking",
    "(parallel won from about 15,000 here)",
    "keeps the loop from being vectorised (half the time at 768-d)",
    "About three times faster while the matrix fits in the L2 cache",
    "(two to four times slower from n = 1,000 on)",
    "BLAS (twice the speed), on the shifted rows",
    "Five\n    times faster than rng.permuted",
    "the triad ran at 34.1 GB/s",
    "each call takes 45 µs",
]
_NOT_TIMINGS = [
    "one BLAS call per block into one reused 8 MB buffer",
    "one int32 vector of doubled ranks (int64 from 2**30 values)",
    "tiles keep BLAS on one thread, which is faster for small products",
    "OpenBLAS's threads keep spinning for a while after each threaded call",
    "which makes even small products many times slower",
    "the largest multiple of 8 whose product stays on one BLAS thread, 8 x 8 at least",
    "Faster than the condensed gathers while the matrix fits in the L2 cache (n below about 200)",
    "a Spearman RSA of about 60 items of 300 and 768 features (1,770 pairs)",
    "The null takes 8 bytes a permutation (17 while a two-sided p-value is counted)",
    "rows that are power-of-two multiples of each other (x and 2x)",
    "a fresh 25 MB block would be faulted in anew each time",
    "Rounding is measured against the vectors' spread",
    "the (1 - confidence)/2 quantile, 1e-5 apart, shape (n * (n - 1) // 2,)",
]


def _as_comment_and_docstring(phrase):
    comment = "# " + phrase.replace("\n", "\n# ") + "\n"
    return timings(comment), timings(f'"""{phrase}"""\n')


def test_the_pattern_finds_timings_and_only_timings():
    missed = [phrase for phrase in _TIMINGS if not all(_as_comment_and_docstring(phrase))]
    assert not missed, f"timings the pattern misses: {missed}"
    flagged = [phrase for phrase in _NOT_TIMINGS if any(_as_comment_and_docstring(phrase))]
    assert not flagged, f"not timings, but flagged: {flagged}"


def test_a_figure_split_over_comment_lines_is_found():
    assert timings("x = 1\n# Five times\n# faster than before\n") == [(2, "Five times faster")]
