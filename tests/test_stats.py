"""Kendall's tau, the Mantel permutation test and bootstrap intervals, each
against fastrsa.reference given the same permutations or resamples."""

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare, kendalltau, kstest

import fastrsa
from tests.fuzz_cases import documented_permutations, documented_resamples
from fastrsa import _pairs, _tuning, api, reference, stats
from fastrsa._kernels import kendall

from .helpers import DTYPES, correlated_spaces, route_of

# Kendall's tau -------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
# Sizes around the merge sort's runs (RUN = 32) and their merges.
@pytest.mark.parametrize("size", [2, 3, kendall.RUN - 1, kendall.RUN, kendall.RUN + 1, 2 * kendall.RUN + 1, 700])
@pytest.mark.parametrize("ties", [False, True])
def test_kendall_and_tau_a_match_reference_and_scipy(rng, dtype, size, ties):
    a = rng.standard_normal(size)
    b = a + rng.standard_normal(size)
    if ties:  # a few distinct values: big ties in a, b and jointly
        a, b = np.round(a), np.round(b * 2)
    a, b = a.astype(dtype), b.astype(dtype)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        a[0], b[0] = a.max() + 1, b.max() + 1
    tau_b = fastrsa.compare(a, b, "kendall")
    assert tau_b == pytest.approx(reference.compare(a, b, "kendall"), abs=1e-12)
    assert tau_b == pytest.approx(kendalltau(a, b).statistic, abs=1e-12)
    assert fastrsa.compare(a, b, "tau-a") == pytest.approx(reference.compare(a, b, "tau-a"), abs=1e-12)


def test_kendall_over_many_values_matches_scipy(rng):
    # Past the rank kernel's coarse buckets and many merge levels.
    a = rng.standard_normal(200_000)
    b = np.round(a + rng.standard_normal(a.size), 2)  # ties in b only
    assert fastrsa.compare(a, b, "kendall") == pytest.approx(kendalltau(a, b).statistic, abs=1e-12)


def test_tau_a_counts_ties_as_neither_concordant_nor_discordant():
    # Pairs: (0,1) concordant, (0,2) tied in a, (1,2) discordant: (1 - 1) / 3.
    assert fastrsa.compare([1, 2, 1], [1, 3, 4], "tau-a") == 0.0
    assert fastrsa.compare([1, 2, 3], [1, 2, 3], "tau-a") == 1.0


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3)), min_size=2, max_size=60))
def test_kendall_property_matches_reference(values):
    a, b = np.array(values, dtype=np.float64).T
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return
    for method in ("kendall", "tau-a"):
        assert fastrsa.compare(a, b, method) == pytest.approx(reference.compare(a, b, method), abs=1e-12)


@pytest.mark.parametrize("method", ["kendall", "tau-a"])
def test_rsa_accepts_kendall(rng, method):
    X, Y = correlated_spaces(rng, 40, 5, 7)
    assert fastrsa.rsa(X, Y, method) == pytest.approx(reference.rsa(X, Y, method), abs=1e-12)


# The Mantel test -----------------------------------------------------------


def _permutations(n, count, seed):
    return np.concatenate(list(stats._permutations(n, count, np.random.SeedSequence(seed))))


def test_permutations_are_uniform_and_the_documented_ones():
    drawn = _permutations(4, 24_000, 3)
    assert drawn.dtype == np.uint32
    assert (np.sort(drawn, axis=1) == np.arange(4)).all()
    # All 24 orders of 4 items, each about 1,000 times.
    _, counts = np.unique(drawn, axis=0, return_counts=True)
    assert counts.size == 24 and chisquare(counts).pvalue > 0.001
    assert len(stats.batch_sizes(4, 24_000)) == 32  # (batches, each from its own seed)
    assert np.array_equal(documented_permutations(4, 24_000, 3), drawn)


# The three kernels that permute pairs, each chosen by forcing the thresholds.
PAIR_KERNELS = {
    "square": {"BLOCKED_ITEMS": 10**9},
    "blocked": {"BLOCKED_ITEMS": 0},
    "condensed": {"SQUARE_BYTES": 0},
}


@pytest.fixture(params=sorted(PAIR_KERNELS))
def pair_kernel(request, monkeypatch):
    for name, value in PAIR_KERNELS[request.param].items():
        monkeypatch.setattr(_tuning, name, value)
    return request.param


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", ["pearson", "spearman"])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_mantel_matches_reference(rng, dtype, method, alternative, pair_kernel):
    X, Y = correlated_spaces(rng, 12, 4, 6, dtype=dtype, noise=3.0)
    a, b = fastrsa.rdm(X), fastrsa.rdm(Y)
    got = fastrsa.mantel(a, b, method, permutations=199, alternative=alternative, seed=7, keep_null=True)
    statistic, pvalue, null = reference.mantel(a, b, method, _permutations(12, 199, 7), alternative)
    assert got.statistic == fastrsa.compare(a, b, method)
    assert got.statistic == pytest.approx(statistic, abs=1e-6 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(got.null, null, rtol=0, atol=1e-12)
    assert got.pvalue == pvalue
    assert (got.permutations, got.alternative, got.method) == (199, alternative, method)


@pytest.mark.parametrize("method", ["pearson", "spearman"])
@pytest.mark.parametrize("metric", ["cosine", "correlation", "euclidean"])
def test_permutation_test_matches_mantel_on_its_vectors(rng, method, metric):
    X, Y = correlated_spaces(rng, 15, 5, 8, noise=2.0)
    got = fastrsa.permutation_test(X, Y, method, metric, permutations=99, seed=3, keep_null=True)
    assert got.statistic == fastrsa.rsa(X, Y, method, metric)  # exactly
    a, b = reference.rdm(X, metric), reference.rdm(Y, metric)
    _, pvalue, null = reference.mantel(a, b, method, _permutations(15, 99, 3))
    np.testing.assert_allclose(got.null, null, rtol=0, atol=1e-12)
    assert got.pvalue == pvalue


@pytest.mark.parametrize("call", ["permutation", "bootstrap"])
@pytest.mark.parametrize("case", ["rsa by Gram", "tiles", "blocks"])
def test_statistic_is_rsa_exactly(rng, monkeypatch, call, case):
    method, metric = "spearman", "cosine"
    if case == "rsa by Gram":  # while the resamples visit pairs
        method, (X, Y) = "pearson", correlated_spaces(rng, 100, 30, 30, noise=1.0)
        assert fastrsa._gram.flops(100, 30, 30) > _tuning.GATHER_COST * 100 * 99 // 2
    else:  # the pairs in 16 x 16 tiles, or in row blocks
        method, metric, (X, Y) = "pearson", "euclidean", correlated_spaces(rng, 97, 768, 760, noise=1.0)
        if case == "blocks":
            monkeypatch.setattr(_tuning, "SMALL_PRODUCT", 0)
        assert _pairs.tile_side(97, 768) == (16 if case == "tiles" else 0)
    assert (route_of(X, Y, method, metric) == api.GRAM) == (case == "rsa by Gram")
    if call == "permutation":
        result = fastrsa.permutation_test(X, Y, method, metric, permutations=20, seed=0)
    else:
        result = fastrsa.bootstrap_ci(X, Y, method, metric, n_boot=20, seed=0)
    assert result.statistic == fastrsa.rsa(X, Y, method, metric)


@pytest.mark.parametrize("metric", ["cosine", "correlation"])
def test_gram_and_pair_paths_give_the_same_null(rng, monkeypatch, metric):
    X, Y = correlated_spaces(rng, 30, 3, 4, noise=2.0)
    by_pairs = fastrsa.permutation_test(X, Y, metric=metric, permutations=50, seed=5, keep_null=True)
    monkeypatch.setattr(_tuning, "GATHER_COST", 1e9)  # the Gram identity is now always cheaper
    by_gram = fastrsa.permutation_test(X, Y, metric=metric, permutations=50, seed=5, keep_null=True)
    np.testing.assert_allclose(by_gram.null, by_pairs.null, rtol=0, atol=1e-12)
    assert by_gram.pvalue == by_pairs.pvalue and by_gram.statistic == by_pairs.statistic


def test_strongly_related_spaces_get_the_smallest_pvalue(rng):
    X, Y = correlated_spaces(rng, 60, 20, 30, noise=0.1)
    for method in ("pearson", "spearman"):
        assert fastrsa.permutation_test(X, Y, method, permutations=499, seed=0).pvalue == 1 / 500


def test_pvalues_are_uniform_on_independent_data():
    rng = np.random.default_rng(11)
    pvalues = []
    for seed in range(300):
        X, Y = rng.standard_normal((8, 3)), rng.standard_normal((8, 4))
        pvalues.append(fastrsa.permutation_test(X, Y, permutations=99, seed=seed).pvalue)
    # A biased test (p = k/n, or one tail for two) fails this by far.
    assert kstest(pvalues, "uniform").pvalue > 0.01
    assert 0.4 < np.mean(pvalues) < 0.6


def test_keep_null_false_keeps_none_and_same_seed_repeats(rng):
    X, Y = correlated_spaces(rng, 20, 4, 4)
    first = fastrsa.permutation_test(X, Y, "spearman", permutations=99, seed=9)
    assert first.null is None
    again = fastrsa.permutation_test(X, Y, "spearman", permutations=99, seed=9)
    assert first == again


# The bootstrap --------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_bootstrap_matches_reference_resamples(rng, dtype, method):
    X, Y = correlated_spaces(rng, 14, 5, 6, dtype=dtype, noise=1.5)
    got = fastrsa.bootstrap_ci(X, Y, method, n_boot=60, confidence=0.9, seed=4)
    samples = documented_resamples(14, 60, 4)
    expected = reference.bootstrap(X.astype(np.float64), Y.astype(np.float64), samples, method)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12  # float32 similarities, float64 reference
    np.testing.assert_allclose(got.distribution, expected, rtol=0, atol=tolerance)
    assert got.statistic == fastrsa.rsa(X, Y, method)
    assert (got.low, got.high) == tuple(np.quantile(got.distribution, [(1 - 0.9) / 2, (1 + 0.9) / 2]))
    assert got.confidence == 0.9 and got.method == method


def test_bootstrap_redraws_resamples_whose_pairs_do_not_vary():
    X = np.array([[1.0, 0], [0, 1], [1, 1], [1, -1]])
    Y = X + [[0.1, 0], [0, 0.2], [0.3, 0], [0, 0]]
    result = fastrsa.bootstrap_ci(X, Y, "spearman", n_boot=200, seed=0)
    assert np.isfinite(result.distribution).all() and result.distribution.size == 200


def _take_route(monkeypatch, route):
    """Make bootstrap_ci's planner take ``route`` for Pearson of similarities."""
    if route == stats.WEIGHTED_GRAM:
        monkeypatch.setattr(_tuning, "RESAMPLE_PAIR_COST", 1 << 40)
    else:
        monkeypatch.setattr(_tuning, "RESAMPLE_CALL_COST", 1 << 60)


def _by_both_routes(monkeypatch, X, Y, metric, **kwargs):
    """``bootstrap_ci(X, Y, "pearson", metric, **kwargs)`` over the pairs and
    by the weighted Gram identity, each route checked in the plan."""
    results = []
    for route in (api.PAIRS, stats.WEIGHTED_GRAM):
        with monkeypatch.context() as patched:
            _take_route(patched, route)
            assert fastrsa.plan(fastrsa.bootstrap_ci, X, Y, "pearson", metric, **kwargs).choices["route"] == route
            results.append(fastrsa.bootstrap_ci(X, Y, "pearson", metric, **kwargs))
    return results


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("metric", ["cosine", "correlation"])
@pytest.mark.parametrize("n", [3, 7, 1000])
def test_weighted_gram_bootstrap_gives_the_pairs_interval(rng, monkeypatch, dtype, metric, n):
    X, Y = correlated_spaces(rng, n, 12, 9, noise=1.5)
    X, Y = (X + 1.0).astype(dtype), (Y + 4.0).astype(dtype)  # cosines crowd near their mean
    pairs, gram = _by_both_routes(monkeypatch, X, Y, metric, n_boot=40, seed=3)
    # The same draws (three items drawn again until all three are distinct).
    np.testing.assert_allclose(gram.distribution, pairs.distribution, rtol=0, atol=1e-10)
    assert abs(gram.low - pairs.low) <= 1e-10 and abs(gram.high - pairs.high) <= 1e-10
    assert gram.statistic == pairs.statistic == fastrsa.rsa(X, Y, metric=metric)
    assert np.isfinite(gram.distribution).all() and gram.distribution.size == 40


def test_weighted_gram_bootstrap_over_many_blocks_of_rows(rng, monkeypatch):
    X, Y = correlated_spaces(rng, 200, 6, 5, noise=1.0)
    monkeypatch.setattr(_tuning, "GRAM_BLOCK", 7)  # the drawn rows in 7-row blocks, the last one short
    pairs, gram = _by_both_routes(monkeypatch, X, Y, "cosine", n_boot=30, seed=2)
    np.testing.assert_allclose(gram.distribution, pairs.distribution, rtol=0, atol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("metric", ["cosine", "correlation"])
def test_weighted_gram_bootstrap_matches_reference_resamples(rng, monkeypatch, dtype, metric):
    _take_route(monkeypatch, stats.WEIGHTED_GRAM)
    X, Y = correlated_spaces(rng, 14, 5, 6, dtype=dtype, noise=1.5)
    got = fastrsa.bootstrap_ci(X, Y, "pearson", metric, n_boot=60, confidence=0.9, seed=4)
    samples = documented_resamples(14, 60, 4)
    expected = reference.bootstrap(X.astype(np.float64), Y.astype(np.float64), samples, "pearson", metric)
    np.testing.assert_allclose(got.distribution, expected, rtol=0, atol=1e-10)
    assert got.statistic == fastrsa.rsa(X, Y, metric=metric)
    assert (got.low, got.high) == tuple(np.quantile(got.distribution, [(1 - 0.9) / 2, (1 + 0.9) / 2]))


def test_weighted_gram_bootstrap_redraws_resamples_whose_pairs_do_not_vary(monkeypatch):
    _take_route(monkeypatch, stats.WEIGHTED_GRAM)
    X = np.array([[1.0, 0], [0, 1], [1, 1], [1, -1]])
    Y = X + [[0.1, 0], [0, 0.2], [0.3, 0], [0, 0]]
    pairs, gram = _by_both_routes(monkeypatch, X, Y, "cosine", n_boot=200, seed=0)
    assert np.isfinite(gram.distribution).all() and gram.distribution.size == 200
    np.testing.assert_allclose(gram.distribution, pairs.distribution, rtol=0, atol=1e-10)

def _serial_and_parallel(run):
    """What ``run()`` returns on one thread, and on all of Numba's threads."""
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        serial = run()
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        parallel = run()
    finally:
        numba.set_num_threads(before)
    return serial, parallel


def test_permutation_nulls_do_not_depend_on_the_thread_count(rng, pair_kernel):
    X, Y = correlated_spaces(rng, 25, 4, 6, noise=1.0)
    serial, parallel = _serial_and_parallel(
        lambda: fastrsa.permutation_test(X, Y, "spearman", permutations=200, seed=1, keep_null=True).null
    )
    assert np.array_equal(serial, parallel)


def test_bootstrap_distributions_do_not_depend_on_the_thread_count(rng):
    X, Y = correlated_spaces(rng, 25, 4, 6, noise=1.0)
    serial, parallel = _serial_and_parallel(
        lambda: fastrsa.bootstrap_ci(X, Y, "spearman", n_boot=200, seed=1).distribution
    )
    assert np.array_equal(serial, parallel)


def test_weighted_gram_bootstrap_does_not_depend_on_the_thread_count(rng, monkeypatch):
    _take_route(monkeypatch, stats.WEIGHTED_GRAM)
    X, Y = correlated_spaces(rng, 3000, 40, 30, noise=1.0)  # Numba's and BLAS's threads both at work

    def run():
        return fastrsa.bootstrap_ci(X, Y, n_boot=6, seed=1).distribution

    serial, parallel = _serial_and_parallel(run)
    assert np.array_equal(serial, parallel)
    import threadpoolctl  # (in the test extra)
    with threadpoolctl.threadpool_limits(1, "blas"):
        one = run()
    with threadpoolctl.threadpool_limits(2, "blas"):
        two = run()
    assert np.array_equal(one, two) and np.array_equal(one, serial)


# Input checks ----------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -5, 2.5, True, "99", None])
def test_counts_must_be_positive_integers(rng, bad):
    X, Y = correlated_spaces(rng, 10, 3, 3)
    with pytest.raises(ValueError, match="permutations=.*positive integer"):
        fastrsa.permutation_test(X, Y, permutations=bad)
    with pytest.raises(ValueError, match="n_boot=.*positive integer"):
        fastrsa.bootstrap_ci(X, Y, n_boot=bad)


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1, "0.95", True, np.nan])
def test_confidence_must_lie_strictly_between_0_and_1(rng, bad):
    X, Y = correlated_spaces(rng, 10, 3, 3)
    with pytest.raises(ValueError, match="confidence=.*between 0 and 1"):
        fastrsa.bootstrap_ci(X, Y, confidence=bad)


def test_bad_choices_are_named(rng):
    X, Y = correlated_spaces(rng, 10, 3, 3)
    with pytest.raises(ValueError, match="alternative='both' is not supported"):
        fastrsa.permutation_test(X, Y, alternative="both")
    with pytest.raises(ValueError, match="method='kendall' is not supported; use one of 'pearson', 'spearman'"):
        fastrsa.permutation_test(X, Y, method="kendall")
    with pytest.raises(ValueError, match="not n\\(n - 1\\)/2"):
        fastrsa.mantel(np.arange(5.0), np.arange(5.0))
    with pytest.raises(ValueError, match="same number of rows"):
        fastrsa.bootstrap_ci(X, Y[:-1])


def test_inputs_are_not_modified(rng):
    X, Y = correlated_spaces(rng, 12, 3, 4)
    a, b = fastrsa.rsm(X), fastrsa.rsm(Y)
    copies = [v.copy() for v in (X, Y, a, b)]
    fastrsa.permutation_test(X, Y, "spearman", permutations=20, seed=0)
    fastrsa.bootstrap_ci(X, Y, "spearman", n_boot=20, seed=0)
    fastrsa.mantel(a, b, "spearman", permutations=20, seed=0)
    for original, copy in zip((X, Y, a, b), copies):
        assert np.array_equal(original, copy)


@pytest.mark.parametrize("permutations", [1, 5, 131])  # one block, one per thread, several and a rest
def test_pair_kernels_agree(rng, pair_kernel, permutations):
    X, Y = correlated_spaces(rng, 23, 4, 5, noise=1.0)
    got = fastrsa.permutation_test(X, Y, "spearman", permutations=permutations, seed=2, keep_null=True)
    _, pvalue, null = reference.mantel(
        reference.rdm(X, "cosine"), reference.rdm(Y, "cosine"), "spearman", _permutations(23, permutations, 2)
    )
    np.testing.assert_allclose(got.null, null, rtol=0, atol=1e-12)
    assert got.pvalue == pvalue


@pytest.mark.parametrize("metric", ["cosine", "correlation", "euclidean", "sqeuclidean"])
@pytest.mark.parametrize("n", [60, 400])  # both spaces in tiles; X in tiles and Y in blocks
def test_pairs_of_two_spaces_are_each_space_s_pairs(rng, metric, n):
    # rsa and the statistics take both spaces' pairs in one call: the same bits.
    X = rng.standard_normal((n, 30)).astype(np.float32)
    Y = rng.standard_normal((n, 300))
    assert _pairs.tile_side(*X.shape) and bool(_pairs.tile_side(*Y.shape)) == (n == 60)
    a, b = _pairs.condensed_pair(X, Y, metric, (_pairs.tile_side(*X.shape), _pairs.tile_side(*Y.shape)))
    assert _pairs.as_distances(X, metric) == (metric not in ("cosine", "correlation"))  # X is float32
    np.testing.assert_array_equal(a, _pairs.condensed(X, metric, _pairs.tile_side(*X.shape)))
    np.testing.assert_array_equal(b, _pairs.condensed(Y, metric, _pairs.tile_side(*Y.shape)))
    assert (a.dtype, b.dtype) == (_pairs.condensed(X, metric, _pairs.tile_side(*X.shape)).dtype, np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("metric", ["cosine", "correlation", "euclidean"])
def test_pairs_in_tiles_are_the_pairs_in_blocks(rng, monkeypatch, dtype, metric):
    X = rng.standard_normal((60, 2000)).astype(dtype)  # tiles of 8 x 8
    assert _pairs.tile_side(*X.shape) == 8
    tiled = _pairs.condensed_values(X, metric, True, _pairs.tile_side(*X.shape))  # dissimilarities in either dtype
    monkeypatch.setattr(_tuning, "SMALL_PRODUCT", 0)
    assert _pairs.tile_side(*X.shape) == 0
    blocked = _pairs.condensed_values(X, metric, True, _pairs.tile_side(*X.shape))
    assert tiled.dtype == blocked.dtype == (np.float64 if metric == "euclidean" else dtype)
    # Equal up to rounding only: BLAS rounds some products otherwise in other
    # tiles.  Every caller takes the same tiles for the same shape.
    tolerance = 1e-5 if dtype == np.float32 and metric != "euclidean" else 1e-10
    np.testing.assert_allclose(tiled, blocked, rtol=0, atol=tolerance * (blocked.max() if metric == "euclidean" else 1))
    expected = reference.rdm(X, metric)  # rsa correlates pdist's dissimilarities
    np.testing.assert_allclose(tiled, expected, rtol=0, atol=tolerance * (expected.max() if metric == "euclidean" else 1))


def test_square_matrix_is_squareform(rng):
    from scipy.spatial.distance import squareform

    from fastrsa._kernels.resample import square_matrix

    b = rng.standard_normal(7 * 6 // 2)
    assert np.array_equal(square_matrix(b, 7), squareform(b))


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_mantel_over_three_items_matches_reference(method):
    # n = 3: every one of the 6 permutations is drawn many times.
    a, b = np.array([0.1, 0.5, 0.9]), np.array([0.2, 0.1, 0.7])
    got = fastrsa.mantel(a, b, method, permutations=60, seed=1, keep_null=True)
    statistic, pvalue, null = reference.mantel(a, b, method, _permutations(3, 60, 1))
    np.testing.assert_allclose(got.null, null, rtol=0, atol=1e-12)
    assert got.pvalue == pvalue and got.statistic == pytest.approx(statistic, abs=1e-12)


def test_gram_null_refuses_pairs_that_do_not_vary_before_permuting(rng):
    # Many items, few features: the Gram null.  Y's rows all alike: every
    # cosine is 1, and the test refuses by name instead of a null of NaN.
    X = rng.standard_normal((3000, 4))
    Y = np.ones((3000, 3))
    assert fastrsa.plan(fastrsa.permutation_test, X, Y, permutations=5).choices["null"] == stats.GRAM_NULL
    with pytest.raises(ValueError, match="the similarities of Y has zero variance"):
        fastrsa.permutation_test(X, Y, permutations=5, seed=0)
