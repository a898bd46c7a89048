"""The report's rows at scale: sizes the N x N peers cannot run.

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


def _mib(nbytes):
    return f"{nbytes / 2**20:,.0f}"


def render(figures, quick=False):
    """The markdown section of docs/benchmarks-scale.md from the rows' figures."""
    machine = figures["machine"]
    mid = next(f["n"] for k, f in figures.items() if k.startswith("spearman exact") and "real" not in k)
    scaling = sorted(
        f["n"] for k, f in figures.items()
        if k.startswith("spearman binned") and "tolerance" not in k and "real" not in k and f["n"] != mid
    )  # fmt: skip
    quarter, top = scaling[0], scaling[-1]
    exact, binned = figures[f"spearman exact {mid} float32"], figures[f"spearman binned {mid} float32"]
    tight = figures[f"spearman binned {mid} float32 tolerance 1e-4"]
    real_exact, real_binned = figures["spearman exact real"], figures["spearman binned real"]
    q, t = figures[f"spearman binned {quarter} float32"], figures[f"spearman binned {top} float32"]
    files = next(v for k, v in figures.items() if k.startswith("pearson from files"))
    perm = next(v for k, v in figures.items() if k.startswith("permutation"))
    boot = next(v for k, v in figures.items() if k.startswith("bootstrap"))
    # The two-pass GEMM limit of binned Spearman: each space's block products twice (its count, the ranks),
    # at the float32 GEMM rate measured in this run.
    limit = 2 * 2 * t["n"] * (t["n"] - 1) / 2 * (300 + 768) / (machine["float32"] * 1e9)
    lines = [
        "# Benchmarks at scale",
        "",
        "Written by `python -m benchmarks.scale`" + (" --quick" if quick else "") + ": each row in a fresh process, a warm-up",
        "call of the same path on a small input first, then one call on the full input, timed once (these",
        'take minutes); "added" is the peak resident memory less the memory held just before the call',
        "(the inputs are held before). One run; the exact and binned rows run the same inputs in turn.",
        "",
        f"- BLAS: {'; '.join(machine['blas'])}; GEMM measured in this run: {machine['float64']:.0f} GFLOP/s float64, "
        f"{machine['float32']:.0f} float32",
        "- data: two correlated random spaces, 300-d and 768-d (`benchmarks/data.py`), and the real",
        "  all-MiniLM-L6-v2 spaces over 5,000 words (`../shared/data`)",
        "",
        "| case | N | seconds | added MiB | plan MiB | result |",
        "| --- | --- | --- | --- | --- | --- |",
    ]

    def row(case, f, result):
        lines.append(f"| {case} | {f['n']:,} | {f['seconds']:.1f} | {_mib(f['added'])} | {_mib(f['planned'])} | {result} |")

    row("Spearman exact, float32", exact, f"{exact['score']:.10f}")
    row("Spearman binned (tolerance 1e-3), float32", binned,
        f"error {abs(binned['score'] - exact['score']):.1e} (bound {binned['bound']:.1e})")
    row("Spearman binned (tolerance 1e-4), float32", tight,
        f"error {abs(tight['score'] - exact['score']):.1e} (bound {tight['bound']:.1e})")
    row("Spearman exact, real MiniLM, float64", real_exact, f"{real_exact['score']:.10f}")
    row("Spearman binned, real MiniLM, float64", real_binned,
        f"error {abs(real_binned['score'] - real_exact['score']):.1e} (bound {real_binned['bound']:.1e})")
    row("Spearman binned, float32", q, f"bound {q['bound']:.1e}")
    row("Spearman binned, float32", t, f"bound {t['bound']:.1e}; two-pass GEMM limit {limit:.0f} s: {limit / t['seconds']:.0%} of it")
    row("Pearson RSA from two .npy files, float32", files, f"{files['score']:.6f}")
    perm_case = f"permutation_test Pearson, {perm['count']:,} permutations ({perm['route']} null)"
    row(perm_case, perm, f"p = {perm['pvalue']:.4f}")
    boot_case = f"bootstrap_ci Pearson, {boot['count']:,} resamples ({boot['route']})"
    row(boot_case, boot, f"[{boot['low']:.4f}, {boot['high']:.4f}]")
    pairs_top = t["n"] * (t["n"] - 1) // 2
    lines += [
        "",
        f"Scaling, binned Spearman: N = {q['n']:,} → {t['n']:,} (pairs × {pairs_top / (q['n'] * (q['n'] - 1) / 2):.1f}):"
        f" time × {t['seconds'] / q['seconds']:.1f}, memory added × {t['added'] / max(q['added'], 1):.2f}.",
        "",
        "The N × N peers (SciPy's `pdist` + `spearmanr`, rsatoolbox, scikit-bio, mne-rsa) hold every pair: at",
        f"N = {t['n']:,} that is {pairs_top:,} pairs, {pairs_top * 8 / 2**30:,.0f} GiB for one float64 condensed",
        f"vector and about {pairs_top * 24 / 2**30:,.0f} GiB to rank two (this machine has 23 GiB); at N = {files['n']:,},"
        f" {files['n'] * (files['n'] - 1) // 2 * 8 / 2**40:,.1f} TiB a vector. They cannot run these rows.",
    ]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--row")
    parser.add_argument("--output", default=None, help="write the markdown here (docs/benchmarks-scale.md)")
    parser.add_argument("--render", metavar="JSON", help="only render figures saved from a run (its JSON)")
    parser.add_argument("--only", nargs="+", metavar="PREFIX", help="run only the rows whose names start so")
    parser.add_argument("--save", metavar="JSON", help="write the figures here too")
    args = parser.parse_args()
    if args.row:
        print(json.dumps(rows(args.quick)[args.row]()))
        return
    if args.render:
        text = render(json.loads(Path(args.render).read_text()), args.quick)
        if args.output:
            Path(args.output).write_text(text)
        print(text)
        return
    figures = {}
    for name in rows(args.quick):
        if args.only and not any(name.startswith(prefix) for prefix in args.only):
            continue
        command = [sys.executable, "-m", "benchmarks.scale", "--row", name] + (["--quick"] if args.quick else [])
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            raise SystemExit(f"row {name!r} failed")
        figures[name] = json.loads(done.stdout.strip().splitlines()[-1])
        print(name, figures[name], flush=True)
    if args.save:
        Path(args.save).write_text(json.dumps(figures, indent=1) + "\n")
    if args.only:
        print(json.dumps(figures, indent=1))
        return
    text = render(figures, args.quick)
    if args.output:
        Path(args.output).write_text(text)
    print(json.dumps(figures, indent=1))
    print(text)


if __name__ == "__main__":
    main()
