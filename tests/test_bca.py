"""The BCa interval of bootstrap_ci: its jackknife over items against rsa of
the data with each row left out, the interval against
scipy.stats.bootstrap(method="BCa") on fastrsa's own distribution, and the
percentile interval unchanged."""

import pickle
import warnings

import numba
import numpy as np
import pytest
from scipy import stats as scipy_stats

import fastrsa
from fastrsa import _tuning, _weighted_gram, api, reference, stats
from fastrsa._kernels import jackknife

from .helpers import DTYPES, SCORE_TOL, correlated_spaces

# The jackknife against the same pairs' correlations without each item (an
# exact oracle), and against rsa of the rows left (float32: rsa's
# similarities round in float32).
EXACT_TOL = 1e-12


def _left_out(X, Y, method, metric="cosine"):
    """reference.rsa of the rows left, each item left out in turn."""
    X, Y = X.astype(np.float64), Y.astype(np.float64)
    return np.array([reference.rsa(np.delete(X, i, 0), np.delete(Y, i, 0), method, metric) for i in range(len(X))])


def _masked(a, b, method):
    """The exact oracle: compare over the pairs without item i, for every i."""
    n = stats._items_of(a.size)
    i, j = np.triu_indices(n, 1)
    return np.array([reference.compare(a[(i != k) & (j != k)], b[(i != k) & (j != k)], method) for k in range(n)])


def _jackknife(a, b, method):
    layout = stats._spearman_layout(a, b) if method == "spearman" else None
    return stats._pairs_jackknife(a, b, layout, 0.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", ["pearson", "spearman"])
@pytest.mark.parametrize("n", [4, 5, 31, 150])
def test_pairs_jackknife_is_rsa_with_each_row_left_out(rng, dtype, method, n):
    X, Y = correlated_spaces(rng, n, 4, 6, dtype=dtype, noise=1.5)
    a, b = (fastrsa.rsm(space).astype(np.float64) for space in (X, Y))
    got = _jackknife(a, b, method)
    assert got.dtype == np.float64 and got.shape == (n,)
    np.testing.assert_allclose(got, _masked(a, b, method), rtol=0, atol=EXACT_TOL)
    np.testing.assert_allclose(got, _left_out(X, Y, method), rtol=0, atol=SCORE_TOL[dtype])


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_pairs_jackknife_with_ties(rng, method):
    # Few distinct values: large ties in a, in b, and across an item's pairs.
    n = 40
    a = np.round(rng.standard_normal(n * (n - 1) // 2) * 2)
    b = np.round(a + rng.standard_normal(a.size))
    np.testing.assert_allclose(_jackknife(a, b, method), _masked(a, b, method), rtol=0, atol=EXACT_TOL)


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean"])
def test_pairs_jackknife_computes_afresh_an_item_that_holds_the_spread(rng, metric):
    # Item 3 far from the rest: its pairs hold all but ~1e-16 of the spread,
    # which the totals less its sums cannot keep; it is flagged and
    # computed as a resample without it.
    X, Y = correlated_spaces(rng, 25, 3, 4, noise=1.0)
    X[3] *= 1e8
    Y[3] *= 1e8
    a, b = fastrsa.rdm(X, metric), fastrsa.rdm(Y, metric)
    n, sums = 25, np.empty((5, 25))
    jackknife.item_sums(a, b, n, 1.0, 1.0, a.mean(), b.mean(), sums)
    out, flagged = np.empty(n), np.empty(n, np.bool_)
    jackknife.pearson_leaving_each_out(sums, n, out, flagged)
    assert np.flatnonzero(flagged).tolist() == [3]
    expected = _left_out(X, Y, "pearson", metric)
    np.testing.assert_allclose(_jackknife(a, b, "pearson"), expected, rtol=0, atol=1e-12)
    result = fastrsa.bootstrap_ci(X, Y, metric=metric, n_boot=200, seed=1, interval="bca")
    assert np.isfinite(result.bca_interval).all()


@pytest.mark.parametrize("magnitude", [1e-150, 1e150])
def test_pairs_jackknife_at_any_magnitude(rng, magnitude):
    # Scaled by a power of two before the squares: none leaves float64's range.
    X, Y = correlated_spaces(rng, 20, 3, 4, noise=1.0)
    a, b = fastrsa.rdm(X, "euclidean"), fastrsa.rdm(Y, "euclidean")
    expected = _jackknife(a, b, "pearson")
    np.testing.assert_allclose(_jackknife(a * magnitude, b * magnitude, "pearson"), expected, rtol=0, atol=1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("metric", ["cosine", "correlation"])
@pytest.mark.parametrize("block", [None, 7])
def test_gram_jackknife_is_rsa_with_each_row_left_out(rng, monkeypatch, dtype, metric, block):
    if block:
        monkeypatch.setattr(_tuning, "GRAM_BLOCK", block)  # the rows' forms in 7-row blocks, the last one short
    X, Y = correlated_spaces(rng, 45, 5, 6, noise=1.5)
    X, Y = (X + 1.0).astype(dtype), (Y + 4.0).astype(dtype)  # cosines crowd near their mean
    resampler = _weighted_gram.Resampler(X, Y, metric == "correlation")
    got = stats._pearson_jackknife(stats._gram_item_sums(resampler), stats._weighted_statistics, (resampler,))
    # The Resampler's rows are float64 from either dtype: against the float64 reference.
    np.testing.assert_allclose(got, _left_out(X, Y, "pearson", metric), rtol=0, atol=1e-12)


def _scipy_bca(X, Y, method, metric, result):
    """scipy.stats.bootstrap(method="BCa") on fastrsa's distribution (no
    resamples of its own: ``bootstrap_result``), its jackknife over the
    items by fastrsa.rsa of the rows left."""
    def statistic(items):
        return fastrsa.rsa(X[items], Y[items], method, metric)

    return scipy_stats.bootstrap(
        (np.arange(len(X)),), statistic, vectorized=False, n_resamples=0, bootstrap_result=result,
        confidence_level=result.confidence, method="BCa",
    ).confidence_interval


ROUTES = [("pearson", api.PAIRS), ("spearman", api.PAIRS), ("pearson", stats.WEIGHTED_GRAM)]


def _take_route(monkeypatch, route):
    if route == stats.WEIGHTED_GRAM:
        monkeypatch.setattr(_tuning, "RESAMPLE_PAIR_COST", 1 << 40)
    else:
        monkeypatch.setattr(_tuning, "RESAMPLE_CALL_COST", 1 << 60)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method, route", ROUTES)
@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_bca_is_scipys(rng, monkeypatch, dtype, method, route, confidence):
    _take_route(monkeypatch, route)
    X, Y = correlated_spaces(rng, 35, 5, 6, dtype=dtype, noise=1.5)
    assert fastrsa.plan(fastrsa.bootstrap_ci, X, Y, method, interval="bca").choices["route"] == route
    result = fastrsa.bootstrap_ci(X, Y, method, n_boot=400, confidence=confidence, seed=2, interval="bca")
    expected = _scipy_bca(X, Y, method, "cosine", result)
    tolerance = 1e-6 if dtype == np.float32 else 1e-10  # (rsa of the rows left rounds its own float32 similarities)
    np.testing.assert_allclose(result.bca_interval, tuple(expected), rtol=0, atol=tolerance)
    assert result.confidence_interval == result.bca_interval == (result.low, result.high)
    assert result.interval == "bca"


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_percentile_interval_is_unchanged_beside_bca(rng, method):
    X, Y = correlated_spaces(rng, 30, 4, 6, noise=1.5)
    percentile = fastrsa.bootstrap_ci(X, Y, method, n_boot=300, confidence=0.9, seed=4)
    bca = fastrsa.bootstrap_ci(X, Y, method, n_boot=300, confidence=0.9, seed=4, interval="BCa")
    # As before: low and high the quantiles of the distribution, bit for bit.
    assert (percentile.low, percentile.high) == tuple(np.quantile(percentile.distribution, [(1 - 0.9) / 2, (1 + 0.9) / 2]))
    assert percentile.interval == "percentile" and percentile.bca_interval is None
    assert percentile.percentile_interval == percentile.confidence_interval
    assert np.array_equal(bca.distribution, percentile.distribution) and bca.statistic == percentile.statistic
    assert bca.percentile_interval == percentile.confidence_interval
    assert bca.interval == "bca" and bca.confidence_interval == bca.bca_interval != bca.percentile_interval
    again = pickle.loads(pickle.dumps(bca))
    assert (again.interval, again.bca_interval, again.percentile_interval) == (bca.interval, bca.bca_interval, bca.percentile_interval)


def test_bca_does_not_depend_on_the_thread_count(rng, monkeypatch):
    X, Y = correlated_spaces(rng, 60, 4, 6, noise=1.0)
    before = numba.get_num_threads()
    runs = []
    try:
        for threads in (1, numba.config.NUMBA_NUM_THREADS):
            numba.set_num_threads(threads)
            runs.append([fastrsa.bootstrap_ci(X, Y, m, n_boot=20, seed=1, interval="bca").bca_interval for m in ("pearson", "spearman")])
            a, b = (fastrsa.rsm(space).astype(np.float64) for space in (X, Y))
            runs[-1] += [tuple(_jackknife(a, b, m)) for m in ("pearson", "spearman")]
    finally:
        numba.set_num_threads(before)
    assert runs[0] == runs[1]


def test_bca_omitting_items_is_the_call_on_the_rows_left(rng):
    X, Y = correlated_spaces(rng, 30, 4, 5)
    X[[2, 11]] = np.nan
    with pytest.warns(fastrsa.OmittedWarning):
        omitted = fastrsa.bootstrap_ci(X, Y, n_boot=100, seed=3, nan_policy="omit", interval="bca")
    kept = np.delete(np.arange(30), [2, 11])
    left = fastrsa.bootstrap_ci(X[kept], Y[kept], n_boot=100, seed=3, interval="bca")
    assert (omitted.bca_interval, omitted.percentile_interval) == (left.bca_interval, left.percentile_interval)


def test_interval_is_checked(rng):
    X, Y = correlated_spaces(rng, 10, 3, 3)
    for bad in ["basic", "", None, 1]:
        with pytest.raises(ValueError, match=r"interval=.* is not supported; use one of 'percentile', 'bca'"):
            fastrsa.bootstrap_ci(X, Y, n_boot=10, interval=bad)
    with pytest.raises(ValueError, match="interval='bca' needs at least 4 items.*X and Y have 3"):
        fastrsa.bootstrap_ci(X[:3], Y[:3], n_boot=10, interval="bca")
    assert np.isfinite(fastrsa.bootstrap_ci(X[:3], Y[:3], n_boot=10, seed=0).low)


def test_spearman_bca_past_its_budget_is_refused_before_any_work(rng, monkeypatch):
    X, Y = correlated_spaces(rng, 50, 3, 3)
    visits = 50 * (50 * 49 // 2)
    monkeypatch.setattr(stats, "SPEARMAN_JACKKNIFE_BUDGET", visits - 1)
    with pytest.raises(ValueError, match=r"over 50 items is refused.*6\.12e\+04 pair visits.*interval='percentile' works"):
        fastrsa.plan(fastrsa.bootstrap_ci, X, Y, "spearman", interval="bca")
    assert fastrsa.plan(fastrsa.bootstrap_ci, X, Y, "pearson", interval="bca").choices["interval"] == "bca"
    monkeypatch.setattr(stats, "SPEARMAN_JACKKNIFE_BUDGET", visits)
    plan = fastrsa.plan(fastrsa.bootstrap_ci, X, Y, "spearman", interval="bca")
    assert [stage.name for stage in plan.stages][-1] == "jackknife" and "BCa" in plan.what
    assert "jackknife" not in [stage.name for stage in fastrsa.plan(fastrsa.bootstrap_ci, X, Y, "spearman").stages]


def test_bca_that_cannot_be_computed_is_nan_with_a_warning():
    # Three equal rows of X: leaving out the fourth item leaves pairs that do not vary.
    X = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    Y = X + [[0.0, 0.1], [0.1, 0.0], [0.0, 0.3], [0.2, 0.0]]
    with pytest.warns(RuntimeWarning, match="the BCa interval cannot be computed") as caught:
        result = fastrsa.bootstrap_ci(X, Y, n_boot=100, seed=0, interval="bca")
    assert caught[0].filename == __file__  # (the warning names the caller)
    assert np.isnan(result.bca_interval).all() and np.isnan([result.low, result.high]).all()
    assert np.isfinite(result.percentile_interval).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastrsa.bootstrap_ci(X, Y, n_boot=100, seed=0)  # (the percentile interval: no warning)
