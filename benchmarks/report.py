"""Run the benchmark report (fastrsa against NumPy, SciPy and its peers) and write docs/benchmarks.md.

    python -m benchmarks.report              # the full table (about 40 minutes on 2 cores)
    python -m benchmarks.report --quick      # small sizes, to try the script (writes nothing)

Every (case, path) runs in its own process (``benchmarks.run_case``): warm-up
calls on smaller inputs that take the same kernels as the full one and one on
the full input (timed apart: "first call"), then ``--rounds`` calls on the
full input; the median is quoted, and the peak memory is that process's max
RSS.  Ratios are
taken between paths measured in the same run.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import machine
from .data import D1, D2, real_spaces

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Measure:
    """One path of one case, as run."""

    path: str
    dtype: str
    n: int
    times: list = field(default_factory=list)
    first: float = float("nan")  # the full-size warm-up call (median of a merged measure's)
    peak: int = 0
    before: int = 0
    value: float = float("nan")

    @property
    def median(self):
        return float(np.median(self.times))


def run(case, path, n, dtype="float64", rounds=3):
    """Time one path of one case in a fresh process."""
    command = [sys.executable, "-m", "benchmarks.run_case", case, path, str(n), dtype, str(rounds)]
    print(f"  {case} {path} N={n:,} {dtype} ...", end="", flush=True)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    measure = Measure(path, dtype, n, figures["times"], figures["first"], figures["peak"], figures["before"],
                      figures["value"])
    print(f" {measure.median:.3f} s, peak {measure.peak / 2**20:,.0f} MiB")
    return measure


# fastrsa's own paths whose targets compare figures of one path (float32
# against float64, the many small calls against a bound) run in this many
# processes, alternating between dtypes.
REPEATS = 5


def run_alternating(case, n, dtypes=("float64",), rounds=3):
    """One measure per dtype of fastrsa's path at size n: ``run_in_turns``."""
    return run_in_turns(case, [(n, dtype) for dtype in dtypes], rounds)


def run_in_turns(case, variants, rounds=3):
    """One measure per (n, dtype) in ``variants`` of fastrsa's path, each
    from ``REPEATS`` processes started in turn (the first variant, the
    second, ..., the first again): this machine's speed drifts by a quarter
    within minutes, and taking turns gives each variant the same share of
    that drift.  A measure's times are all its processes' rounds, its peak
    the largest of their peaks."""
    measures = {variant: [] for variant in variants}
    for _ in range(REPEATS):
        for n, dtype in variants:
            measures[n, dtype].append(run(case, "fastrsa", n, dtype, rounds))
    merged = []
    for (n, dtype), runs in measures.items():
        merged.append(Measure("fastrsa", dtype, n, [t for m in runs for t in m.times],
                              float(np.median([m.first for m in runs])), max(m.peak for m in runs),
                              min(m.before for m in runs), runs[0].value))
        print(f"  {case} fastrsa N={n:,} {dtype}: median of {len(merged[-1].times)} rounds {merged[-1].median:.3f} s")
    return merged


def cold_start(n, rounds):
    """Wall time of a fresh process that imports fastrsa and runs one Spearman
    RSA of N items: with an empty Numba cache, then with the cache warm."""
    script = (
        "import fastrsa, numpy as np; r = np.random.default_rng(0); "
        f"X = r.standard_normal(({n}, {D1})); Y = r.standard_normal(({n}, {D2})); "
        "fastrsa.rsa(X, Y, method='spearman')"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)
        empty = time.perf_counter() - start
        warm = []
        for _ in range(rounds):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)
            warm.append(time.perf_counter() - start)
    return empty, float(np.median(warm))


def _ratio(slow, fast):
    return slow.median / fast.median


# Bytes a float64 value moves while ranked (docs/performance.md): 32 in the
# scatter's three passes, 12 sorting its bucket, 20 going back to its place.
RANK_BYTES = 64


def _mib(nbytes):
    return f"{nbytes / 2**20:,.0f}"


class Table:
    """The rows of the report and the targets they are checked against."""

    def __init__(self):
        self.rows = []  # (case, path, dtype, N, median s, ratio, first call s, peak MiB, added MiB)
        self.targets = []  # (target, figure, met)

    def add(self, case, measures, baseline):
        """Rows for one case; ``ratio`` is each path's time over ``baseline``'s."""
        for m in measures:
            self.rows.append(
                (case, m.path, m.dtype, f"{m.n:,}", f"{m.median:.3f}", f"{_ratio(m, baseline):.2f}",
                 f"{m.first:.3f}", _mib(m.peak), _mib(m.peak - m.before))
            )

    def target(self, text, figure, met):
        self.targets.append((text, figure, "yes" if met else "**no**"))
        print(f"    target: {text}: {figure} -> {'met' if met else 'NOT met'}")


def _agree(measures, tolerance=1e-6):
    values = [m.value for m in measures]
    if max(values) - min(values) > tolerance:
        raise RuntimeError(f"paths disagree: {[(m.path, m.value) for m in measures]}")


def build(quick, rounds):
    """Run every case; return (table, cost rows)."""
    size = (lambda full, small: small) if quick else (lambda full, small: full)
    table = Table()
    costs = []
    gemm = machine.gemm_gflops(np.float64)
    bandwidth = machine.triad_gbytes()

    def cost(case, measure, flops, nbytes):
        ideal = max(flops / (gemm * 1e9), nbytes / (bandwidth * 1e9))
        costs.append((case, f"{flops / 1e9:,.1f}", f"{nbytes / 1e9:,.2f}", f"{ideal:.3f}",
                      f"{measure.median:.3f}", f"{100 * ideal / measure.median:.0f} %"))

    # Pearson at N = 20,000: the Gram path against the N x N peers.
    n = size(20_000, 2_000)
    case = "rsa:pearson:cosine:random"
    fast, fast32 = run_alternating(case, n, ("float64", "float32"), rounds)
    numpy_path = run(case, "NumPy", n, rounds=rounds)
    scipy_path = run(case, "SciPy", n, rounds=rounds)
    _agree([fast, numpy_path, scipy_path])
    table.add(f"rsa Pearson, {D1}-d vs {D2}-d", [fast, fast32, numpy_path, scipy_path], fast)
    table.target(f"Pearson N={n:,}: >= 20x NumPy", f"{_ratio(numpy_path, fast):.1f}x", _ratio(numpy_path, fast) >= 20)
    table.target(f"Pearson N={n:,}: >= 60x SciPy", f"{_ratio(scipy_path, fast):.1f}x", _ratio(scipy_path, fast) >= 60)
    table.target(f"Pearson N={n:,}: float32 no slower than float64", f"{fast32.median:.3f} s vs {fast.median:.3f} s",
                 fast32.median <= fast.median * 1.1)
    cost("rsa Pearson (Gram path)", fast, n * (D1 + D2) ** 2, 2 * 2 * n * (D1 + D2) * 8)

    # Pearson at N = 100,000: only fastrsa can.
    n = size(100_000, 10_000)
    huge = run(case, "fastrsa", n, rounds=rounds)
    huge32 = run(case, "fastrsa", n, "float32", rounds)
    table.add(f"rsa Pearson, {D1}-d vs {D2}-d", [huge, huge32], huge)
    table.target(f"Pearson N={n:,}: under 5 s", f"{huge.median:.2f} s", huge.median < 5)
    table.target(f"Pearson N={n:,}: under 2 GB peak", f"{huge.peak / 1e9:.2f} GB", huge.peak < 2e9)

    # Spearman at N = 8,000.
    n = size(8_000, 1_500)
    case = "rsa:spearman:cosine:random"
    fast, fast32 = run_alternating(case, n, ("float64", "float32"), rounds)
    numpy_path = run(case, "NumPy", n, rounds=rounds)
    scipy_path = run(case, "SciPy", n, rounds=rounds)
    _agree([fast, numpy_path, scipy_path])
    table.add(f"rsa Spearman, {D1}-d vs {D2}-d", [fast, fast32, numpy_path, scipy_path], fast)
    table.target(f"Spearman N={n:,}: >= 12x NumPy", f"{_ratio(numpy_path, fast):.1f}x", _ratio(numpy_path, fast) >= 12)
    table.target(f"Spearman N={n:,}: >= 15x SciPy", f"{_ratio(scipy_path, fast):.1f}x", _ratio(scipy_path, fast) >= 15)
    table.target(f"Spearman N={n:,}: peak <= 50 % of NumPy's", f"{100 * fast.peak / numpy_path.peak:.0f} %",
                 fast.peak <= 0.5 * numpy_path.peak)
    table.target(f"Spearman N={n:,}: float32 no slower than float64", f"{fast32.median:.3f} s vs {fast.median:.3f} s",
                 fast32.median <= fast.median * 1.1)
    pairs = n * (n - 1) // 2
    # Per pair and space: the product's write (8 bytes) and ranking (RANK_BYTES).
    cost("rsa Spearman (pairs, ranks)", fast, n * n * (D1 + D2), 2 * pairs * (8 + RANK_BYTES))

    # rsm at N = 8,000, D = 768.
    case = "rsm"
    fast = run(case, "fastrsa", n, rounds=rounds)
    fast32 = run(case, "fastrsa", n, "float32", rounds)
    scipy_path = run(case, "SciPy", n, rounds=rounds)
    blas = run(case, "BLAS Xn @ Xn.T", n, rounds=rounds)
    table.add(f"rsm, {D2}-d", [fast, fast32, scipy_path, blas], fast)
    table.target(f"rsm N={n:,}: >= 3x 1 - pdist", f"{_ratio(scipy_path, fast):.1f}x", _ratio(scipy_path, fast) >= 3)
    table.target(f"rsm N={n:,}: within 1.5x of Xn @ Xn.T", f"{_ratio(fast, blas):.2f}x", _ratio(fast, blas) <= 1.5)
    cost("rsm (BLAS blocks)", fast, n * n * D2, pairs * 16)

    # compare(a, b, "spearman") on 30M values.
    n = size(30_000_000, 3_000_000)
    fast = run("compare", "fastrsa", n, rounds=rounds)
    scipy_path = run("compare", "SciPy", n, rounds=rounds)
    _agree([fast, scipy_path], 1e-9)
    table.add("compare Spearman", [fast, scipy_path], fast)
    table.target(f"compare Spearman {n:,}: >= 8x spearmanr", f"{_ratio(scipy_path, fast):.1f}x",
                 _ratio(scipy_path, fast) >= 8)
    cost("compare Spearman (ranks)", fast, 0, 2 * n * RANK_BYTES)

    # Scaling from N = 4,000 to 16,000.
    low, high = size(4_000, 1_000), size(16_000, 4_000)
    for method, limit in (("spearman", 16), ("pearson", 4)):
        case = f"rsa:{method}:cosine:random"
        small, large = run_in_turns(case, [(low, "float64"), (high, "float64")], rounds)
        table.add(f"scaling, rsa {method.title()}", [small, large], small)
        bound = "N²" if method == "spearman" else "N"
        table.target(f"{method.title()} N={low:,} -> {high:,}: time grows no faster than {bound} (x{limit})",
                     f"x{_ratio(large, small):.1f}", _ratio(large, small) <= limit * 1.15)

    # Cold start: a whole process of about 1.3 s swings by 0.3 s on a shared
    # machine, so the warm figure is the median of at least 5 processes.
    empty, warm = cold_start(1_000, max(rounds, 5))
    table.target("cold start, cache warm: import + Spearman N=1,000 < 1.5 s (median of 5)", f"{warm:.2f} s", warm < 1.5)
    table.target("cold start, empty cache: < 30 s", f"{empty:.1f} s", empty < 30)

    # Many small calls.
    (many,) = run_alternating("small-calls:spearman", 50, rounds=rounds)
    table.target("10,000 Spearman RSAs at N=50 < 2 s", f"{many.median:.2f} s", many.median < 2)

    # Inference: the Mantel test against scikit-bio on the same
    # data and number of permutations (their draws differ: a timing, not a
    # p-value, comparison), Kendall's tau against SciPy, and the bootstrap
    # against a loop over resamples calling the NumPy reference.
    from .paths import installed

    for n, permutations, minimum in ((size(1_000, 300), 999, 3), (100, 9_999, 1.5)):
        for method in ("pearson", "spearman"):
            case = f"mantel:{method}:{permutations}"
            # The target is for permutation_test (from the spaces); mantel (from
            # the condensed vectors) is shown beside it.
            ours = ("fastrsa permutation_test", "fastrsa mantel")
            measures = [run(case, path, n, rounds=rounds) for path in ours]
            if installed("scikit-bio"):
                skbio = run(case, "scikit-bio", n, rounds=rounds)
                measures.append(skbio)
                _agree(measures, 1e-9)
                table.target(f"permutation_test {method.title()} N={n:,}, {permutations:,} permutations: "
                             f">= {minimum}x scikit-bio",
                             f"{_ratio(skbio, measures[0]):.2f}x", _ratio(skbio, measures[0]) >= minimum)
            table.add(f"Mantel test {method.title()}, {permutations:,} permutations", measures, measures[0])
            pairs = n * (n - 1) // 2
            # Per pair and permutation: a's value and the index p(j) read in
            # order, the gathered value of Y from a cached row (performance.md).
            cost(f"Mantel {method} N={n:,} (cached gathers)", measures[0], 2 * pairs * permutations,
                 12 * pairs * permutations)

    n = size(10_000_000, 1_000_000)
    fast = run("kendall", "fastrsa", n, rounds=rounds)
    scipy_path = run("kendall", "SciPy", n, rounds=rounds)
    _agree([fast, scipy_path], 1e-9)
    table.add("compare Kendall tau-b", [fast, scipy_path], fast)
    table.target(f"compare Kendall {n:,}: >= 3x kendalltau", f"{_ratio(scipy_path, fast):.1f}x",
                 _ratio(scipy_path, fast) >= 3)

    n, resamples = size(1_000, 300), 1_000
    case = f"bootstrap:spearman:{resamples}"
    fast = run(case, "fastrsa", n, rounds=rounds)
    # One round: the loop takes minutes.  Its median is of a different draw
    # scheme than fastrsa's only in name: the same seed, the same samples.
    loop = run(case, "NumPy reference loop", n, rounds=1)
    _agree([fast, loop], 1e-9)
    table.add(f"bootstrap_ci Spearman, {resamples:,} resamples", [fast, loop], fast)
    table.target(f"bootstrap Spearman N={n:,}, {resamples:,} resamples: >= 10x the reference loop",
                 f"{_ratio(loop, fast):.1f}x", _ratio(loop, fast) >= 10)

    # Real spaces, all peers (the correlation metric: rsatoolbox has no cosine).
    name, X, _ = real_spaces()
    n = size(X.shape[0], 1_000)
    for method in ("pearson", "spearman"):
        case = f"rsa:{method}:correlation:real"
        measures = [run(case, "fastrsa", n, rounds=rounds), run(case, "NumPy", n, rounds=rounds),
                    run(case, "SciPy", n, rounds=rounds)]
        measures += [run(case, peer, n, rounds=rounds) for peer in ("rsatoolbox", "mne-rsa") if installed(peer)]
        _agree(measures)
        table.add(f"{name}: rsa {method.title()}, correlation", measures, measures[0])
    return table, costs, gemm, bandwidth


def _markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write(table, costs, gemm, bandwidth, about, rounds, output):
    blas = "; ".join(about["blas"]) or "none found"
    variables = about["openblas_environment"].items()
    openblas_environment = ", ".join(f"`{k}={v}`" for k, v in variables) or "no OPENBLAS_ variable set"
    versions = ", ".join(f"{k} {v}" for k, v in about["versions"].items())
    text = f"""# Benchmarks

Written by `python -m benchmarks.report` on {time.strftime("%Y-%m-%d")}. Every figure is from that one run:
each (case, path) in its own process, warm-up calls on smaller inputs that take the same
kernels as the full one (so no compilation falls in a measured round) and one on the full input
("first call": its time, which in a fresh process includes faulting in the memory the call
allocates, slow on these machines), then the median of {rounds} rounds on the full input
(fastrsa's float64 and float32 rows of Pearson and Spearman RSA, the two sizes of each scaling
row, and the small calls: of all rounds of {REPEATS} processes, the variants in turn, their first
calls' median); peak
memory is the process's max RSS (inputs included), and "added" is the peak less the memory held
before the first full-size call. Ratios are times over the first row of the case (fastrsa,
float64), so a peer's ratio is how many times slower it is.

## Machine

- CPU: {about["cpu"]}, {about["cores"]} cores; Numba: {about["numba_threads"]} threads, `{about["numba_threading_layer"]}` layer
- BLAS: {blas}; environment: {openblas_environment}
- measured ceilings: GEMM {gemm:.0f} GFLOP/s float64 ({about["gemm_gflops_float32"]:.0f} float32), STREAM triad {bandwidth:.1f} GB/s
- versions: {versions}

Data: two correlated random spaces over N items, {D1}-d and {D2}-d (`benchmarks/data.py`), and
the real all-MiniLM-L6-v2 spaces (`../shared/data/minilm-words-5k.npz`).

## Results

{_markdown_table(["case", "path", "dtype", "N", "median s", "ratio", "first call s", "peak MiB", "added MiB"],
                 table.rows)}

## Targets

{_markdown_table(["target", "measured", "met"], table.targets)}

## Against the machine's limits

Time each fastrsa path would take at the measured GEMM rate or bandwidth (whichever binds), against
its median: the cost models are in [performance.md](performance.md).

{_markdown_table(["path", "GFLOP", "GB moved", "bound s", "measured s", "of the limit"], costs)}
"""
    output.write_text(text)
    print(f"wrote {output}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes; writes nothing unless --output is given")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per path (default 3)")
    parser.add_argument("--output", type=Path, help="where to write (default docs/benchmarks.md)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    about = machine.describe()
    print(json.dumps(about, indent=1))
    table, costs, gemm, bandwidth = build(args.quick, args.rounds)
    output = args.output or (None if args.quick else ROOT / "docs" / "benchmarks.md")
    if output is not None:
        write(table, costs, gemm, bandwidth, about, args.rounds, output)


if __name__ == "__main__":
    main()
