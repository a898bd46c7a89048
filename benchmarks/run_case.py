"""Time one path of one case in this process, and print the figures as JSON.

    python -m benchmarks.run_case CASE PATH N DTYPE ROUNDS

The report runs every (case, path) in a fresh process, so that each peak
memory (max RSS) belongs to one path alone.  The path is first called on
smaller inputs (compiles, loads libraries, wakes thread pools), once on the
full input (the warm-up call, timed apart as "first"), then ROUNDS times on
the full input.  fastrsa picks its kernels by size (one-thread tiles
or threaded blocks, serial or parallel ranking, the Gram identity, square or
blocked permutations), so the warm-up inputs come in several sizes up to the
full one: no kernel the full input takes is compiled inside a measured round,
where its compilation would count in the time and in the peak memory.
"""

import json
import resource
import sys
import time

import numpy as np

from . import paths
from .data import correlated_spaces, real_spaces

SMALL_CALLS = 10_000  # calls per round of the "small-calls" case


def _status_bytes(field):
    """A memory figure of this process from /proc/self/status (Linux), or None."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _peak_bytes():
    """This process's peak resident memory.  VmHWM starts afresh at exec;
    ru_maxrss (the fallback) can carry over the parent's peak."""
    peak = _status_bytes("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


WARM_ITEMS = (50, 200, 400, 2000)  # warm-up sizes of the cases over items
WARM_VALUES = (1000, 100_000)  # and of those over vectors


def _warm_sizes(sizes, n):
    return [size for size in sizes if size < n] or [n]


def _case(case, path, n, dtype):
    """(call on the full input, warm-up calls on smaller ones) for a case and path."""
    kind, _, options = case.partition(":")
    if kind == "rsa":
        method, metric, source = options.split(":")
        function = paths.RSA_PATHS[path]
        if source == "real":
            _, X, Y = real_spaces()
            X, Y = X[:n].astype(dtype), Y[:n].astype(dtype)
        else:
            X, Y = correlated_spaces(n, dtype=dtype)
        warm = [lambda k=k: function(X[:k], Y[:k], method, metric) for k in _warm_sizes(WARM_ITEMS[1:], n)]
        return (lambda: function(X, Y, method, metric)), warm
    if kind == "rsm":
        function = paths.RSM_PATHS[path]
        X, _ = correlated_spaces(n, d1=768, dtype=dtype)
        if path.startswith("BLAS"):
            X = X / np.linalg.norm(X, axis=1, keepdims=True)
        warm = [lambda k=k: function(X[:k]) for k in _warm_sizes(WARM_ITEMS[1:], n)]
        return (lambda: function(X)), warm
    if kind == "compare":
        function = paths.COMPARE_PATHS[path]
        rng = np.random.default_rng(0)
        a = rng.standard_normal(n).astype(dtype)
        b = (a + rng.standard_normal(n)).astype(dtype)
        return (lambda: function(a, b)), [lambda k=k: function(a[:k], b[:k]) for k in _warm_sizes(WARM_VALUES, n)]
    if kind == "small-calls":
        function = paths.RSA_PATHS[path]
        X, Y = correlated_spaces(n, dtype=dtype)

        def many():
            for _ in range(SMALL_CALLS):
                value = function(X, Y, options)
            return value

        return many, [lambda: function(X, Y, options)]
    if kind == "kendall":
        function = paths.KENDALL_PATHS[path]
        rng = np.random.default_rng(0)
        a = rng.standard_normal(n).astype(dtype)
        b = (a + rng.standard_normal(n)).astype(dtype)
        return (lambda: function(a, b)), [lambda k=k: function(a[:k], b[:k]) for k in _warm_sizes(WARM_VALUES, n)]
    if kind in ("mantel", "bootstrap"):
        method, count = options.split(":")
        X, Y = correlated_spaces(n, dtype=dtype)
        function = (paths.MANTEL_PATHS if kind == "mantel" else paths.BOOTSTRAP_PATHS)[path]

        def inputs(k):
            return paths.mantel_inputs(path, X[:k], Y[:k]) if kind == "mantel" else (X[:k], Y[:k])

        full = inputs(n)
        warm = [lambda k=k: function(*inputs(k), method, 20) for k in _warm_sizes(WARM_ITEMS[:3], n)]
        return (lambda: function(*full, method, int(count))), warm
    raise ValueError(f"unknown case {case!r}")


def main(argv):
    case, path, n, dtype, rounds = argv
    full, warm = _case(case, path, int(n), np.dtype(dtype))
    for call in warm:
        call()
    before = _status_bytes("VmRSS") or 0
    # One call on the full input before the measured rounds, as the report's
    # protocol asks; its time is reported beside the median.  In a fresh
    # process on these machines the first touch of large allocations is slow
    # (256 MB took 0.26-0.67 s to fault in the first time, 0.03 s later), so
    # without it the first round measured the process's memory, not the path.
    start = time.perf_counter()
    full()
    first = time.perf_counter() - start
    times = []
    for _ in range(int(rounds)):
        start = time.perf_counter()
        value = full()
        times.append(time.perf_counter() - start)
    # A score, or for the rsm paths the mean of their output (a checksum).
    value = float(np.mean(value))
    print(json.dumps({"times": times, "first": first, "peak": _peak_bytes(), "before": before, "value": value}))


if __name__ == "__main__":
    main(sys.argv[1:])
