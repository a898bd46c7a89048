"""Binned Spearman rsa: within its guaranteed bound of the exact score, on
every metric and dtype, tie-heavy data included; its tasks, its plan and
its refusals."""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastrsa
from fastrsa import _binned, _memory, _tuning, api
from fastrsa._kernels.binned import histogram_task, merge_bins

from .helpers import correlated_spaces

METRICS = ("cosine", "correlation", "euclidean", "sqeuclidean")


def _binned_and_exact(X, Y, metric, tolerance=1e-4):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (a bound above the tolerance at tiny N)
        binned = fastrsa.rsa(X, Y, "spearman", metric, exact=False, tolerance=tolerance)
    return binned, fastrsa.rsa(X, Y, "spearman", metric, exact=True)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binned_is_within_its_bound_of_the_exact_score(rng, metric, dtype):
    X, Y = correlated_spaces(rng, 400, 12, 9)
    binned, exact = _binned_and_exact(X.astype(dtype), Y.astype(dtype), metric)
    assert isinstance(binned, fastrsa.ApproximateScore) and type(exact) is float
    assert abs(binned - exact) <= binned.error_bound
    assert binned.error_bound <= 1e-4  # 79,800 pairs in 2**18 bins: the tolerance is reached
    assert abs(binned - exact) < 1e-7  # (measured: a few 1e-9)


def test_tie_heavy_spaces(rng):
    # Binary and count features: most pairs tie.  A bin's values equal to
    # its least or largest value take their exact average rank; only values
    # between can be off (cosines equal in exact arithmetic but a few ulps
    # apart, from different products and lengths, share a bin).
    X = (rng.random((150, 6)) < 0.4).astype(np.float64)
    Y = rng.integers(0, 3, (150, 4)).astype(np.float64)
    X[:, 0] = Y[:, 0] = 1.0  # (no zero rows)
    binned, exact = _binned_and_exact(X, Y, "cosine")
    assert abs(binned - exact) <= binned.error_bound < 1e-10


def test_blocks_of_equal_rows(rng):
    base = rng.standard_normal((40, 8))
    X = np.repeat(base, 5, axis=0)  # 40 rows, 5 copies each
    Y = X[:, :5] + 0.1 * rng.standard_normal((200, 5))
    binned, exact = _binned_and_exact(X, Y, "correlation")
    assert abs(binned - exact) <= binned.error_bound


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(3, 60),
    d=st.integers(1, 6),
    metric=st.sampled_from(METRICS),
    levels=st.sampled_from([2, 3, 0]),
    seed=st.integers(0, 2**32 - 1),
    tolerance=st.sampled_from([1e-2, 1e-4]),
)
def test_the_bound_is_never_violated(n, d, metric, levels, seed, tolerance):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) if not levels else rng.integers(0, levels, (n, d)).astype(np.float64) + 1.0
    Y = X + rng.standard_normal((n, d))
    try:
        exact = fastrsa.rsa(X, Y, "spearman", metric)
    except ValueError as refused:  # (values that do not vary, 1-d correlation): binned refuses alike
        with pytest.raises(ValueError) as caught:
            fastrsa.rsa(X, Y, "spearman", metric, exact=False)
        assert str(caught.value).split(" has ")[0] == str(refused).split(" has ")[0]
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        binned = fastrsa.rsa(X, Y, "spearman", metric, exact=False, tolerance=tolerance)
    assert abs(binned - exact) <= binned.error_bound


def test_a_second_count_tightens_the_bound_to_the_tolerance(rng, monkeypatch):
    X, Y = correlated_spaces(rng, 600, 10, 10)
    monkeypatch.setattr(_tuning, "BINNED_SEGMENTS", 16)  # a coarse placement: the first count misses
    monkeypatch.setattr(_tuning, "BINNED_SAMPLE", 8)
    binned, exact = _binned_and_exact(X, Y, "cosine", tolerance=1e-3)
    assert binned.passes == 3 and binned.error_bound <= 1e-3
    assert abs(binned - exact) <= binned.error_bound


def test_an_unreachable_tolerance_warns(monkeypatch):
    X, Y = correlated_spaces(np.random.default_rng(1), 300, 4, 4)
    monkeypatch.setattr(_tuning, "BINNED_MAX_FINE_BINS", 1 << 12)  # (44,850 pairs: too few bins for 1e-6)
    with pytest.warns(RuntimeWarning, match="exceeds tolerance=1e-06"):
        score = fastrsa.rsa(X, Y, "spearman", exact=False, tolerance=1e-6)
    assert score.error_bound > 1e-6


def test_the_result_does_not_depend_on_task_order_or_threads(rng):
    import numba

    X, Y = correlated_spaces(rng, 300, 7, 5)
    tasks = _binned.row_ranges(300, task_pairs=5_000)
    assert len(tasks) > 5
    one = _binned.space(X, "cosine", 1 << 12)
    other = _binned.space(X, "cosine", 1 << 12)
    _binned.count([one], tasks, 1)
    _binned.count([other], tasks[::-1], 2)  # counts and extremes add exactly, in any order
    assert np.array_equal(one.bins, other.bins)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = _binned.spearman(X, Y, "cosine", 1e-4, tasks=tasks)
    finally:
        numba.set_num_threads(previous)
    assert float(_binned.spearman(X, Y, "cosine", 1e-4, tasks=tasks)) == float(single)


def test_row_ranges_cover_every_row_once_in_balanced_tasks():
    for n in (2, 3, 10, 1000):
        ranges = _binned.row_ranges(n, task_pairs=997)
        assert ranges[0][0] == 0 and ranges[-1][1] == n - 1
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
        pairs = [sum(n - 1 - i for i in range(r0, r1)) for r0, r1 in ranges]
        assert sum(pairs) == n * (n - 1) // 2
        assert all(p <= 997 + n for p in pairs)


def test_a_task_is_a_pure_function_of_its_rows(rng):
    X = rng.standard_normal((50, 4))
    s = _binned.space(X, "cosine", 1 << 10)

    def task(r0, r1):
        parts = np.zeros((2, s.fine_bins, 6))  # (two runs: two threads' bins)
        parts[:, :, 1], parts[:, :, 2] = np.inf, -np.inf
        histogram_task(*s.task_arguments(), r0, r1, s.binning, parts, 8, 16)
        merge_bins(parts[0], parts[1])
        return parts[0]

    whole = task(0, 49)
    parts = [task(0, 24), task(24, 49)]  # (blocks of 8 rows from each start: the same blocks as the whole)
    assert np.array_equal(whole[:, 0], parts[0][:, 0] + parts[1][:, 0])
    assert whole[:, 0].sum() == 50 * 49 // 2
    assert np.array_equal(whole[:, 1], np.minimum(parts[0][:, 1], parts[1][:, 1]))


def test_the_plan_chooses_binned_where_exact_does_not_fit(rng, monkeypatch):
    X, Y = correlated_spaces(rng, 4000, 5, 6)
    assert fastrsa.plan(fastrsa.rsa, X, Y, "spearman").choices["route"] != api.BINNED
    exact_bytes = fastrsa.plan(fastrsa.rsa, X, Y, "spearman").memory_bytes
    binned = fastrsa.plan(fastrsa.rsa, X, Y, "spearman", exact=False)
    assert binned.choices["route"] == api.BINNED and "bins" in binned.path
    monkeypatch.setattr(_memory, "available_bytes", lambda: binned.memory_bytes + _memory._OVERHEAD + 2**20)
    monkeypatch.setattr(_memory, "_UNCHECKED", 0)
    assert exact_bytes > binned.memory_bytes
    assert fastrsa.plan(fastrsa.rsa, X, Y, "spearman").choices["route"] == api.BINNED
    with pytest.raises(fastrsa.InsufficientMemoryError, match="exact=False: binned ranks"):
        fastrsa.rsa(X, Y, "spearman", exact=True)


def test_binned_memory_does_not_grow_with_the_pairs(rng):
    plans = [fastrsa.plan(fastrsa.rsa, np.ones((n, 300)), np.ones((n, 768)), "spearman", exact=False) for n in (25_000, 100_000)]
    rows = [2 * 4 * n * 8 for n in (25_000, 100_000)]  # (cosine: a few vectors of N a space: lengths, hashes)
    bins = [p.memory_bytes - r for p, r in zip(plans, rows)]
    assert bins[0] == bins[1]  # everything but those vectors is independent of N
    assert plans[1].memory_bytes < 1.2 * plans[0].memory_bytes
    assert 15.9 < plans[1].flops / plans[0].flops < 16.1  # (the pairs: x 16)


@pytest.mark.parametrize("bad", [0, 1, -1e-3, "1e-4", True, float("nan")])
def test_bad_tolerance_is_refused(rng, bad):
    X, Y = correlated_spaces(rng, 10, 3, 3)
    with pytest.raises(ValueError, match="tolerance="):
        fastrsa.rsa(X, Y, "spearman", exact=False, tolerance=bad)


def test_bad_exact_and_kendall_are_refused(rng):
    X, Y = correlated_spaces(rng, 10, 3, 3)
    with pytest.raises(ValueError, match="exact='yes' is not supported"):
        fastrsa.rsa(X, Y, "spearman", exact="yes")
    with pytest.raises(ValueError, match="Kendall's tau has no binned path; use method='spearman'"):
        fastrsa.rsa(X, Y, "kendall", exact=False)
    assert fastrsa.rsa(X, Y, exact=False) == fastrsa.rsa(X, Y)  # Pearson: exact at any N


def test_constant_pairs_are_refused_by_name(rng):
    X = np.ones((20, 3))
    X[:, 0] = np.arange(20)  # varies
    Y = np.tile([1.0, 2.0], (20, 1))  # every pair the same
    with pytest.raises(ValueError, match="the similarities of Y has zero variance"):
        fastrsa.rsa(X, Y, "spearman", exact=False)


def test_approximate_score_is_a_float_that_pickles(rng):
    X, Y = correlated_spaces(rng, 50, 4, 4)
    score = fastrsa.rsa(X, Y, "spearman", exact=False)
    again = pickle.loads(pickle.dumps(score))
    assert again == score and again.error_bound == score.error_bound and isinstance(again, float)
    assert "within" in repr(score) and float(score) == score


def test_spaces_on_disk_give_the_same_binned_score(rng, tmp_path):
    X, Y = correlated_spaces(rng, 120, 6, 5)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    in_memory = fastrsa.rsa(X, Y, "spearman", exact=False)
    on_disk = fastrsa.rsa(str(tmp_path / "x.npy"), tmp_path / "y.npy", "spearman", exact=False)
    assert float(on_disk) == float(in_memory) and on_disk.error_bound == in_memory.error_bound


def test_progress_shows_on_stderr(rng, capsys):
    X, Y = correlated_spaces(rng, 200, 5, 5)
    fastrsa.rsa(X, Y, "spearman", exact=False, progress=True)
    line = capsys.readouterr().err
    assert "binned Spearman rsa over 19,900 pairs" in line and "100.0% done" in line and line.endswith("\n")
    fastrsa.rsa(X, Y, "spearman", exact=False, progress=False)
    assert capsys.readouterr().err == ""
    with pytest.raises(ValueError, match="progress='yes' is not supported"):
        fastrsa.rsa(X, Y, "spearman", progress="yes")
    with pytest.raises(ValueError, match="progress=1 is not supported"):
        fastrsa.rsa(np.full((4, 2), np.nan), Y[:4], "spearman", progress=1)  # (before the spaces are checked)


_INTERRUPTED = """
import sys, time, numpy as np, fastrsa
from fastrsa import _threads
X = np.random.default_rng(0).standard_normal((40_000, 8))
fastrsa.rsa(X[:300], X[:300] + 1, "spearman", exact=False)  # (compiled, or loaded from the cache)
get = _threads._OPENBLAS[0]["scipy"][0] if _threads._OPENBLAS and "scipy" in _threads._OPENBLAS[0] else (lambda: -1)
before = get()
print("started", flush=True)
try:
    fastrsa.rsa(X, X ** 2, "spearman", exact=False)
except KeyboardInterrupt:
    print("interrupted", time.perf_counter(), before, get(), flush=True)
    sys.exit(130)
print("finished", flush=True)
"""


def test_ctrl_c_stops_a_binned_call_promptly_and_restores_blas():
    import signal
    import subprocess
    import sys
    import time

    child = subprocess.Popen([sys.executable, "-c", _INTERRUPTED], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "started"
    time.sleep(1.0)  # (the call is running: 800 million pairs, three passes)
    sent = time.perf_counter()
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    word, at, before, after = out.split()
    assert word == "interrupted" and float(at) - sent < 2.0  # (the child's clock: CLOCK_MONOTONIC, shared)
    assert before == after  # SciPy's BLAS has its threads back


def test_spearman_inference_beyond_memory_names_a_subset_that_fits(rng, monkeypatch):
    X, Y = correlated_spaces(rng, 3000, 5, 6)
    needed = fastrsa.plan(fastrsa.permutation_test, X, Y, "spearman", permutations=9).memory_bytes
    monkeypatch.setattr(_memory, "available_bytes", lambda: _memory._OVERHEAD + needed // 4)
    monkeypatch.setattr(_memory, "_UNCHECKED", 0)
    import re

    for call, options in ((fastrsa.permutation_test, {"permutations": 9}), (fastrsa.bootstrap_ci, {"n_boot": 9})):
        with pytest.raises(fastrsa.InsufficientMemoryError, match=r"random subset of about [0-9,]+ of the 3,000 items") as caught:
            call(X, Y, "spearman", **options)
        items = int(re.search(r"about ([0-9,]+) of the", str(caught.value)).group(1).replace(",", ""))
        assert 100 < items < 3000
        assert fastrsa.plan(call, X[:items], Y[:items], "spearman", **options).fits  # the subset named fits
