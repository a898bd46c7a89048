"""The report's rows at scale (issue 19): sizes the N x N peers cannot run.

    OPENBLAS_CORETYPE=Haswell python -m benchmarks.scale [--quick] [--output docs/benchmarks-scale.md]

Each row runs in a fresh process (``python -m benchmarks.scale --row NAME``):
a warm-up call on a small input of the same path (compiles or loads the
kernels), then one timed call on the full input, with the process's peak
resident memory (VmHWM) less its resident memory just before the call.
These calls take minutes each, so each is measured once: the figures are of
one run on this machine, beside the machine's GEMM rate measured in the same
run (docs/benchmarks.md's "machine" section says how).  The exact rows and
the binned ones run the same inputs in turn, so their ratio is of one run.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .data import correlated_spaces, real_spaces
from .run_case import _status_bytes

ROOT = Path(__file__).resolve().parents[1]


def _resident():
    return _status_bytes("VmRSS")


def _measured(call):
    """(seconds, bytes added at the peak, result) of one call."""
    with open("/proc/self/clear_refs", "w") as refs:  # the peak starts afresh here
        refs.write("5")
    before = _resident()
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    return seconds, _status_bytes("VmHWM") - before, result


def _spearman(n, dtype, exact, tolerance=1e-3, real=False):
    import fastrsa

    if real:
        _, X, Y = real_spaces()
        X, Y = X.astype(dtype), Y.astype(dtype)
    else:
        X, Y = correlated_spaces(n, dtype=dtype)
    fastrsa.rsa(X[:600], Y[:600], "spearman", exact=exact, tolerance=tolerance)  # (warm-up: same kernels)
    seconds, added, score = _measured(lambda: fastrsa.rsa(X, Y, "spearman", exact=exact, tolerance=tolerance))
    plan = fastrsa.plan(fastrsa.rsa, X, Y, "spearman", exact=exact, tolerance=tolerance)
    return {
        "n": X.shape[0], "seconds": seconds, "added": added, "score": float(score), "planned": plan.memory_bytes,
        "bound": getattr(score, "error_bound", None), "flops": plan.flops,
    }  # fmt: skip


def _pearson_from_files(n):
    import fastrsa

    folder = Path(tempfile.mkdtemp(prefix="fastrsa-scale-"))
    rng = np.random.default_rng(0)
    paths = []
    for name, d in (("x", 300), ("y", 768)):
        array = np.lib.format.open_memmap(folder / f"{name}.npy", mode="w+", dtype=np.float32, shape=(n, d))
        for start in range(0, n, 100_000):
            stop = min(start + 100_000, n)
            array[start:stop] = rng.standard_normal((stop - start, d), dtype=np.float32)
        if name == "y":
            array[:, :150] += 2.0 * np.load(folder / "x.npy", mmap_mode="r")[:, :150]
        array.flush()
        del array
        paths.append(str(folder / f"{name}.npy"))
    small = [np.load(p, mmap_mode="r")[:5000].copy() for p in paths]
    fastrsa.rsa(*small)  # (warm-up: the Gram path's kernels)
    try:
        seconds, added, score = _measured(lambda: fastrsa.rsa(*paths))
        planned = fastrsa.plan(fastrsa.rsa, *paths).memory_bytes
    finally:
        for p in paths:
            os.remove(p)
        folder.rmdir()
    return {"n": n, "seconds": seconds, "added": added, "score": float(score), "planned": planned}


def _inference(kind, n, count):
    import fastrsa

    X, Y = correlated_spaces(n)
    if kind == "permutation":
        fastrsa.permutation_test(X[:3000], Y[:3000], permutations=2, seed=0)
        seconds, added, result = _measured(lambda: fastrsa.permutation_test(X, Y, permutations=count, seed=0))
        plan = fastrsa.plan(fastrsa.permutation_test, X, Y, permutations=count, seed=0)
        return {"n": n, "count": count, "seconds": seconds, "added": added, "pvalue": result.pvalue,
                "route": plan.choices["null"], "planned": plan.memory_bytes}  # fmt: skip
    fastrsa.bootstrap_ci(X[:3000], Y[:3000], n_boot=2, seed=0)
    seconds, added, result = _measured(lambda: fastrsa.bootstrap_ci(X, Y, n_boot=count, seed=0))
    plan = fastrsa.plan(fastrsa.bootstrap_ci, X, Y, n_boot=count, seed=0)
    return {"n": n, "count": count, "seconds": seconds, "added": added, "low": result.low, "high": result.high,
            "route": plan.choices["route"], "planned": plan.memory_bytes}  # fmt: skip


def _gemm():
    from .machine import blas_in_use, gemm_gflops

    return {"float64": gemm_gflops(np.float64), "float32": gemm_gflops(np.float32), "blas": blas_in_use()}


def rows(quick):
    """name -> (what the row runs, as a thunk in a fresh process)."""
    big = 10_000 if quick else 100_000
    mid = 5_000 if quick else 20_000
    quarter = 2_500 if quick else 25_000
    return {
        "machine": _gemm,
        f"spearman exact {mid} float32": lambda: _spearman(mid, np.float32, True),
        f"spearman binned {mid} float32": lambda: _spearman(mid, np.float32, False),
        f"spearman binned {mid} float32 tolerance 1e-4": lambda: _spearman(mid, np.float32, False, 1e-4),
        "spearman exact real": lambda: _spearman(0, np.float64, True, real=True),
        "spearman binned real": lambda: _spearman(0, np.float64, False, real=True),
        f"spearman binned {quarter} float32": lambda: _spearman(quarter, np.float32, False),
        f"spearman binned {big} float32": lambda: _spearman(big, np.float32, False),
        f"pearson from files {10 * big}": lambda: _pearson_from_files(10 * big),
        f"permutation {mid} 999": lambda: _inference("permutation", mid, 99 if quick else 999),
        f"bootstrap {mid} 1000": lambda: _inference("bootstrap", mid, 50 if quick else 1000),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--row")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    if args.row:
        print(json.dumps(rows(args.quick)[args.row]()))
        return
    figures = {}
    for name in rows(args.quick):
        command = [sys.executable, "-m", "benchmarks.scale", "--row", name] + (["--quick"] if args.quick else [])
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            raise SystemExit(f"row {name!r} failed")
        figures[name] = json.loads(done.stdout.strip().splitlines()[-1])
        print(name, figures[name], flush=True)
    text = json.dumps(figures, indent=1)
    if args.output:
        Path(args.output).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
