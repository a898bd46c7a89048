"""The report's rows for many spaces at once.

    OPENBLAS_CORETYPE=Haswell python -m benchmarks.sweeps [--quick] [--rounds R] [--output docs/benchmarks-sweeps.md]

Each row runs in a fresh process (``python -m benchmarks.sweeps --row NAME``):
a warm-up of every path on a small input (compiles or loads the kernels), then
the paths of the row in turns, ``rounds`` rounds, each path's median; the
ratios are of one run.  The layer sweep reads ``../shared/data`` (the 7
MiniLM layers over 5,000 words) where it is, else the 500-word test copy.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .data import correlated_spaces
from .machine import blas_in_use, cpu_model, gemm_gflops
from .run_case import _status_bytes

ROOT = Path(__file__).resolve().parents[1]
SHARED_LAYERS = ROOT.parent / "shared" / "data" / "minilm-layers-5k.npz"
TEST_LAYERS = ROOT / "tests" / "data" / "minilm-layers-500.npz"


def _in_turns(paths, rounds):
    """Median seconds of each named path, the paths run in turns; and each path's last result."""
    times = {name: [] for name in paths}
    results = {}
    for _ in range(rounds):
        for name, call in paths.items():
            start = time.perf_counter()
            results[name] = call()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) for name, values in times.items()}, results


def _layers(quick):
    path = TEST_LAYERS if quick or not SHARED_LAYERS.exists() else SHARED_LAYERS
    with np.load(path) as data:
        return path.name, list(data["layers"]), data["hidden"].astype(np.float32)


def row_layers(method, quick, rounds):
    import fastrsa

    source, names, hidden = _layers(quick)
    spaces = dict(zip(names, hidden))
    small = {name: space[:200] for name, space in spaces.items()}
    fastrsa.rsa_matrix(small, method=method)
    [fastrsa.rsa(a, b, method=method) for a in small.values() for b in small.values()]

    def loop():
        return np.array([[fastrsa.rsa(a, b, method=method) for b in spaces.values()] for a in spaces.values()])

    seconds, results = _in_turns({"matrix": lambda: fastrsa.rsa_matrix(spaces, method=method).matrix, "loop": loop}, rounds)
    loop_matrix = results["loop"].copy()
    np.fill_diagonal(loop_matrix, 1.0)
    return {
        "case": f"7 x 7 MiniLM layers ({source}), N = {hidden.shape[1]:,}, float32, {method} `rsa_matrix`",
        "n": hidden.shape[1], "seconds": seconds, "max_difference": float(np.abs(results["matrix"] - loop_matrix).max()),
        "route": fastrsa.plan(fastrsa.rsa_matrix, spaces, method=method).choices["route"],
    }  # fmt: skip


def row_batched(quick, rounds, d1=300, d2=768, dtype="float64"):
    import fastrsa

    count, n = (1000 if quick else 10_000), 50
    rng = np.random.default_rng(0)
    Xs = rng.standard_normal((count, n, d1)).astype(dtype)
    Ys = rng.standard_normal((count, n, d2)).astype(dtype)
    Ys[:, :, : d1 // 2] += Xs[:, :, : d1 // 2]
    upper = np.triu_indices(n, 1)

    def numpy_rsa(X, Y):  # the plain NumPy loop body: unit rows, the Gram matrices' upper triangles, corrcoef
        X = X / np.linalg.norm(X, axis=1, keepdims=True)
        Y = Y / np.linalg.norm(Y, axis=1, keepdims=True)
        return np.corrcoef((X @ X.T)[upper], (Y @ Y.T)[upper])[0, 1]

    fastrsa.rsa(Xs[:8], Ys[:8])
    fastrsa.rsa(Xs[0], Ys[0])
    paths = {
        "batched": lambda: fastrsa.rsa(Xs, Ys),
        "loop": lambda: np.array([fastrsa.rsa(X, Y) for X, Y in zip(Xs, Ys)]),
        "numpy": lambda: np.array([numpy_rsa(X, Y) for X, Y in zip(Xs, Ys)]),
    }
    seconds, results = _in_turns(paths, rounds)
    return {
        "case": f"{count:,} RSAs of N = 50 items ({d1}-d vs {d2}-d, {dtype}), Pearson, batched", "n": n, "count": count,
        "seconds": seconds, "max_difference": float(np.abs(results["batched"] - results["loop"]).max()),
        "numpy_difference": float(np.abs(results["batched"] - results["numpy"]).max()),
    }  # fmt: skip


def row_cka(quick, rounds):
    import fastrsa

    n = 10_000 if quick else 100_000
    X, Y = correlated_spaces(n, dtype=np.float32)
    fastrsa.cka(X[:2000], Y[:2000])
    fastrsa.rsa(X[:2000], Y[:2000])
    seconds, results = _in_turns({"cka": lambda: fastrsa.cka(X, Y), "rsa": lambda: fastrsa.rsa(X, Y)}, rounds)
    return {"case": f"`cka`, N = {n:,}, 300-d vs 768-d float32, against Pearson `rsa`", "n": n, "seconds": seconds,
            "cka": results["cka"], "rsa": results["rsa"]}  # fmt: skip


def row_knn(quick, rounds):
    import fastrsa

    n = 4000 if quick else 20_000
    X, Y = correlated_spaces(n, dtype=np.float32)
    fastrsa.mutual_knn(X[:500], Y[:500], k=10)
    fastrsa.rsm(Y[:500])
    # The peak first, before rsm's vector has grown the heap (freed memory stays mapped, and a later
    # call's peak would not show).
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    before = _status_bytes("VmRSS")
    score = fastrsa.mutual_knn(X, Y, k=10)
    added = _status_bytes("VmHWM") - before
    seconds, results = _in_turns({"knn": lambda: fastrsa.mutual_knn(X, Y, k=10), "rsm": lambda: fastrsa.rsm(Y)}, rounds)
    del results
    return {"case": f"`mutual_knn`, N = {n:,}, k = 10 (300-d vs 768-d float32), against `rsm` of the 768-d space", "n": n,
            "seconds": seconds, "score": score, "added": added, "rsm_bytes": n * (n - 1) // 2 * 4,
            "planned": fastrsa._knn.memory_bytes(n, X.shape[1], Y.shape[1], 10, itemsize=4)}  # fmt: skip


ROWS = {
    "spearman-layers": lambda quick, rounds: row_layers("spearman", quick, rounds),
    "pearson-layers": lambda quick, rounds: row_layers("pearson", quick, rounds),
    "batched": row_batched,
    "batched-float32": lambda quick, rounds: row_batched(quick, rounds, dtype="float32"),
    "batched-10d": lambda quick, rounds: row_batched(quick, rounds, d1=10, d2=20),
    "cka": row_cka,
    "knn": row_knn,
}


def _run_row(name, quick, rounds):
    command = [sys.executable, "-m", "benchmarks.sweeps", "--row", name, "--rounds", str(rounds)] + (["--quick"] if quick else [])
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"row {name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _ratio(slow, fast):
    return slow / fast


def report(rows, quick, rounds):
    s, p = rows["spearman-layers"], rows["pearson-layers"]
    b, b32, b10 = rows["batched"], rows["batched-float32"], rows["batched-10d"]
    c, k = rows["cka"], rows["knn"]
    lines = [
        "# Benchmarks: many spaces at once",
        "",
        f"Written by `python -m benchmarks.sweeps{' --quick' if quick else ''}` on {time.strftime('%Y-%m-%d')}: one run, each row in "
        f"its own process, the paths of a row in turns, median of {rounds} rounds. {cpu_model()}, {os.cpu_count()} cores; "
        f"GEMM {gemm_gflops(np.float64):.0f} GFLOP/s float64, {gemm_gflops(np.float32):.0f} float32. BLAS: {'; '.join(blas_in_use())}; "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}.",
        "",
        "| case | fastrsa s | against | their s | ratio | max abs difference |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| {s['case']} | {s['seconds']['matrix']:.3f} | 49 `rsa()` calls | {s['seconds']['loop']:.3f} | "
        f"{_ratio(s['seconds']['loop'], s['seconds']['matrix']):.1f}x | {s['max_difference']:.1e} |",
        f"| {p['case']} | {p['seconds']['matrix']:.3f} | 49 `rsa()` calls | {p['seconds']['loop']:.3f} | "
        f"{_ratio(p['seconds']['loop'], p['seconds']['matrix']):.1f}x | {p['max_difference']:.1e} |",
    ]
    for row in (b, b32, b10):
        lines.append(
            f"| {row['case']} | {row['seconds']['batched']:.3f} | a loop of `rsa()` | {row['seconds']['loop']:.3f} | "
            f"{_ratio(row['seconds']['loop'], row['seconds']['batched']):.1f}x | {row['max_difference']:.1e} |"
        )
        lines.append(
            f"| (the same) | | the NumPy loop | {row['seconds']['numpy']:.3f} | "
            f"{_ratio(row['seconds']['numpy'], row['seconds']['batched']):.1f}x | {row['numpy_difference']:.1e} |"
        )
    lines += [
        f"| {c['case']} | {c['seconds']['cka']:.3f} | Pearson `rsa` | {c['seconds']['rsa']:.3f} | "
        f"{_ratio(c['seconds']['cka'], c['seconds']['rsa']):.2f}x the time | |",
        f"| {k['case']} | {k['seconds']['knn']:.3f} | `rsm` | {k['seconds']['rsm']:.3f} | "
        f"{_ratio(k['seconds']['knn'], k['seconds']['rsm']):.2f}x the time | |",
        "",
        f"`mutual_knn` added {k['added'] / 2**20:,.0f} MiB at its peak over N = {k['n']:,} (its `memory_bytes`: "
        f"{k['planned'] / 2**20:,.0f} MiB; the condensed vector of `rsm` is {k['rsm_bytes'] / 2**20:,.0f} MiB).",
        "",
        "The batched rows are bound by their products: B N(N-1)/2 (D1 + D2) multiply-adds, which at this machine's "
        "GEMM rate (float64 or float32, measured in this run) take at least the floor below; no batching of the calls "
        "can beat the loop by more than the loop's time over that floor.",
        "",
        "| batched case | multiply-adds | floor at the GEMM rate (s) | most the loop of `rsa()` could lose | most the NumPy loop could |",
        "| --- | --- | --- | --- | --- |",
    ]
    rates = {dtype: gemm_gflops(dtype) * 1e9 / 2 for dtype in (np.float64, np.float32)}  # multiply-adds a second
    for row, (d1, d2), dtype in ((b, (300, 768), np.float64), (b32, (300, 768), np.float32), (b10, (10, 20), np.float64)):
        work = row["count"] * row["n"] * (row["n"] - 1) // 2 * (d1 + d2)
        floor = work / rates[dtype]
        lines.append(
            f"| {row['case']} | {work:.3g} | {floor:.3f} | {row['seconds']['loop'] / floor:.0f}x | {row['seconds']['numpy'] / floor:.0f}x |"
        )
    lines += ["", "| target | measured | met |", "| --- | --- | --- |"]
    targets = [
        ("7 x 7 layers, Spearman `rsa_matrix` >= 8x faster than 49 `rsa()` calls", _ratio(s["seconds"]["loop"], s["seconds"]["matrix"]), 8, "x"),
        ("the same, equal within 1e-12", s["max_difference"], 1e-12, "<="),
        ("the same, Pearson >= 2.5x faster", _ratio(p["seconds"]["loop"], p["seconds"]["matrix"]), 2.5, "x"),
        ("10,000 RSAs of N = 50, batched, >= 20x the loop of `rsa()`", _ratio(b["seconds"]["loop"], b["seconds"]["batched"]), 20, "x"),
        ("the same, >= 50x the NumPy loop", _ratio(b["seconds"]["numpy"], b["seconds"]["batched"]), 50, "x"),
        ("`cka` N = 100,000 <= 1.5x the time of Pearson `rsa`", _ratio(c["seconds"]["cka"], c["seconds"]["rsa"]), 1.5, "<="),
        ("`mutual_knn` N = 20,000 <= 2x the time of `rsm`", _ratio(k["seconds"]["knn"], k["seconds"]["rsm"]), 2, "<="),
    ]
    for text, value, bound, kind in targets:
        met = value >= bound if kind == "x" else value <= bound
        shown = f"{value:.1e}" if bound < 1e-3 else f"{value:.2f}x"
        lines.append(f"| {text} | {shown} | {'yes' if met else '**no**'} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes; writes nothing unless --output is given")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--row", choices=sorted(ROWS), help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    if args.row:
        print(json.dumps(ROWS[args.row](args.quick, args.rounds)))
        return
    rows = {}
    for name in ROWS:
        rows[name] = _run_row(name, args.quick, args.rounds)
        print(f"{name}: {rows[name]['seconds']}", file=sys.stderr)
    text = report(rows, args.quick, args.rounds)
    output = args.output or (None if args.quick else ROOT / "docs" / "benchmarks-sweeps.md")
    if output:
        Path(output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
