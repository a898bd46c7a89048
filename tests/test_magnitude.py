"""Every public function at every finite magnitude, 1e-300 to 1e300.

Inputs are ordinary data times powers of two (global, per row, or per
vector), so the ordinary data, ``np.ldexp(input, -k)``, is known exactly:
the oracle is SciPy or fastrsa.reference on it (cosines and correlations
do not see the scale, distances scale with it).  float32 inputs are scaled
within float32's own range and checked against their own values, rescaled.
"""

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import kendalltau, pearsonr, spearmanr

import fastrsa
from tests.fuzz_cases import documented_resamples
import fastrsa.jit
from fastrsa import _pairs, _tuning, api, reference
from fastrsa._kernels import correlate
from fastrsa._kernels.normalize import normalize_rows_into

from .helpers import DTYPES, ELEMENT_TOL, SCORE_TOL, correlated_spaces, route_of

SIMILARITY_METRICS = ["cosine", "correlation"]
DISTANCE_METRICS = SIMILARITY_METRICS + ["euclidean", "sqeuclidean"]
METHODS = ["pearson", "spearman", "kendall", "tau-a"]

# Powers of two near 1e-300, 1e-200, 1e-160, 1e-82, 1e77, 1e155, 1e200, 1e300
# (the magnitudes issue 17 found wrong), and within float32's range.
EXPONENTS = {
    np.float64: [-997, -664, -532, -272, 256, 515, 664, 997],
    np.float32: [-120, -100, 100, 122],
}
CASES = [(dtype, k) for dtype in DTYPES for k in EXPONENTS[dtype]]
CASE_IDS = [f"{np.dtype(dtype).name}-2^{k}" for dtype, k in CASES]
# N = 3, and two tiles a side at 40 features (tile_side(81, 40) == 80).
SIZES = [3, 81]
# A few subnormal steps: where a true value lies among the subnormals, two
# correct roundings of it may differ by one step, far more than rtol allows.
SUBNORMAL_STEPS = 16 * 2.0**-1074


def _scaled(ordinary, k, dtype):
    """``(input, ordinary)``: ordinary data times 2**k in ``dtype``, and the
    input's own values at ordinary scale (float32 rounds them)."""
    given = np.ldexp(ordinary, k).astype(dtype)
    return given, np.ldexp(given.astype(np.float64), -k)


def _row_exponents(n, k):
    """Per-row powers of two from 2**-|k| to 2**|k| (2**k for each row when
    the dtype's range allows one sign only)."""
    return np.linspace(-abs(k), abs(k), n).round().astype(int)[:, None]


def _rsa_oracle(X, Y, method, metric):
    """The reference's score; for Kendall's tau-b (whose reference is
    O(M^2)) SciPy's, of the RDMs the reference's score correlates."""
    if method != "kendall":
        return reference.rsa(X, Y, method, metric)
    X, Y = reference._at_scale_one(X, metric), reference._at_scale_one(Y, metric)
    return kendalltau(reference.rdm(X, metric), reference.rdm(Y, metric))[0]


def _spaces(rng, n, dtype, k, per_row, metric="cosine"):
    """X at 2**k and Y at 2**-k, and the two at ordinary scale.  Per row:
    rows from 2**-|k| to 2**|k| for cosine and correlation; for the
    Euclidean metrics, whose distances see each row's scale, rows 2**k times
    2**-4 to 2**4 (rows far apart in magnitude have near-equal distances to
    the largest, which rounding orders for the rank methods)."""
    X, Y = correlated_spaces(rng, n, 40, 7, noise=1.0)
    if per_row and metric in ("euclidean", "sqeuclidean"):
        X, Y = (np.ldexp(space, _row_exponents(n, 4)) for space in (X, Y))
        per_row = False
    kx = _row_exponents(n, k) if per_row else k
    ky = -kx  # Y at the opposite end of the range
    (X_in, X_ordinary), (Y_in, Y_ordinary) = _scaled(X, kx, dtype), _scaled(Y, ky, dtype)
    return X_in, Y_in, X_ordinary, Y_ordinary


@pytest.mark.parametrize("dtype, k", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("per_row", [False, True], ids=["global", "per-row"])
@pytest.mark.parametrize("metric", SIMILARITY_METRICS)
@pytest.mark.parametrize("n", SIZES)
def test_rsm_and_rdm_of_similarities_at_any_magnitude(rng, dtype, k, per_row, metric, n):
    X = rng.standard_normal((n, 40))
    given, ordinary = _scaled(X, _row_exponents(n, k) if per_row else k, dtype)
    expected = 1 - pdist(ordinary, metric)
    got = fastrsa.rsm(given, metric)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=0, atol=ELEMENT_TOL[dtype])
    np.testing.assert_allclose(fastrsa.rdm(given, metric), 1 - expected, rtol=0, atol=ELEMENT_TOL[dtype])
    np.testing.assert_allclose(reference.rsm(given.astype(np.float64), metric), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_unit_rows_do_not_depend_on_the_rows_power_of_two(rng, dtype):
    # Rows whose squares leave float64's range are scaled by a power of two
    # before the same steps: their unit rows are those of the ordinary rows.
    X = rng.standard_normal((40, 9)).astype(dtype)
    exponents = _row_exponents(40, 997 if dtype == np.float64 else 120)
    given = np.ldexp(X, exponents).astype(dtype)
    for centre in (False, True):
        out, expected = np.empty_like(given), np.empty_like(X)
        normalize_rows_into(given, out, centre)
        normalize_rows_into(X, expected, centre)
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("dtype, k", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean"])
@pytest.mark.parametrize("n", SIZES)
def test_rdm_distances_at_any_magnitude(rng, dtype, k, metric, n):
    X = rng.standard_normal((n, 40))
    given, ordinary = _scaled(X, k, dtype)
    with np.errstate(over="ignore", under="ignore"):
        expected = np.ldexp(pdist(ordinary, metric), k if metric == "euclidean" else 2 * k)
    if np.isinf(expected).any():
        # Squared distances of 2**997 rows are beyond float64 (SciPy says
        # inf): refused, naming the range, rather than an inf.
        with pytest.raises(ValueError, match="past float64's range"):
            fastrsa.rdm(given, metric)
        return
    got = fastrsa.rdm(given, metric)
    assert got.dtype == np.float64
    # Those of 2**-997 rows are below float64's range (0): where the true value is.
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=SUBNORMAL_STEPS)
    with np.errstate(over="ignore", under="ignore"):
        np.testing.assert_allclose(reference.rdm(given, metric), expected, rtol=1e-10, atol=SUBNORMAL_STEPS)


def _distances_pair_by_pair(X):
    """Euclidean distances, each pair's rows first scaled by the power of
    two of their largest value (the other row's negligible digits may
    underflow there)."""
    distances = []
    for i, j in zip(*np.triu_indices(len(X), k=1)):
        _, e = np.frexp(np.abs(X[[i, j]]).max())
        distances.append(np.ldexp(np.linalg.norm(np.ldexp(X[i], -e) - np.ldexp(X[j], -e)), e))
    return np.array(distances)


@pytest.mark.parametrize("low, high", [(-997, -332), (332, 997), (-332, 332)])
@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean"])
def test_rdm_distances_of_rows_of_many_magnitudes(rng, low, high, metric):
    # Rows from 2**low to 2**high in one space: every distance is right (and
    # every squared one, unless float64 cannot hold it), in the reference too.
    n = 30
    X = np.ldexp(rng.standard_normal((n, 6)), np.linspace(low, high, n).round().astype(int)[:, None])
    with np.errstate(over="ignore", under="ignore"):
        expected = _distances_pair_by_pair(X) ** (1 if metric == "euclidean" else 2)
        if np.isinf(expected).any():  # beyond float64: refused by name, where the reference says inf
            with pytest.raises(ValueError, match="past float64's range"):
                fastrsa.rdm(X, metric)
            computed = [reference.rdm(X, metric)]
        else:
            computed = [fastrsa.rdm(X, metric), reference.rdm(X, metric)]
        for got in computed:
            np.testing.assert_array_equal(np.isinf(got), np.isinf(expected))
            np.testing.assert_allclose(got, expected, rtol=1e-10, atol=SUBNORMAL_STEPS)


def test_distances_of_rows_of_ordinary_magnitude_are_not_rescaled(rng):
    X = rng.standard_normal((20, 5)) * 1e20
    assert _pairs.with_squared_norms(X)[2] == 0
    assert _pairs.with_squared_norms(X * 1e-40)[2] == 0
    assert _pairs.with_squared_norms(X * 1e140)[2] != 0  # squared lengths near 1e320
    assert _pairs.with_squared_norms(X * 1e-150)[2] != 0  # near 1e-260


def _vectors(rng, dtype, k, size=200):
    a = rng.standard_normal(size)
    b = a + rng.standard_normal(size)
    (a_in, a_ordinary), (b_in, b_ordinary) = _scaled(a, k, dtype), _scaled(b, -k, dtype)
    return a_in, b_in, a_ordinary, b_ordinary


def _scipy_compare(a, b, method):
    if method == "tau-a":
        return reference.compare(a, b, method)
    return {"pearson": pearsonr, "spearman": spearmanr, "kendall": kendalltau}[method](a, b)[0]


@pytest.mark.parametrize("dtype, k", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("method", METHODS)
def test_compare_at_any_magnitude(rng, dtype, k, method):
    a, b, a_ordinary, b_ordinary = _vectors(rng, dtype, k)
    expected = _scipy_compare(a_ordinary, b_ordinary, method)
    assert fastrsa.compare(a, b, method) == pytest.approx(expected, abs=SCORE_TOL[np.float64])
    assert fastrsa.compare(a, a, method) == pytest.approx(1.0, abs=1e-12)  # both at one scale
    assert reference.compare(a, b, method) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("k", [-1074 + 60, -1000, 1000, 1023])
def test_compare_at_the_ends_of_float64(rng, k):
    # Values near the largest float64 (whose sums overflow) and near the
    # subnormals (whose squares vanish).
    _, _, a_ordinary, b_ordinary = _vectors(rng, np.float64, 0)
    a, b = np.ldexp(a_ordinary / 8, k), np.ldexp(b_ordinary / 8, k)
    a_ordinary, b_ordinary = np.ldexp(a, -k), np.ldexp(b, -k)  # subnormals round: the values given
    for method in ("pearson", "spearman"):
        expected = _scipy_compare(a_ordinary, b_ordinary, method)
        assert fastrsa.compare(a, b, method) == pytest.approx(expected, abs=1e-10)


def test_jit_pearson_at_any_magnitude(rng):
    a, b, a_ordinary, b_ordinary = _vectors(rng, np.float64, 997)
    assert fastrsa.jit.pearson(a, b) == pytest.approx(pearsonr(a_ordinary, b_ordinary)[0], abs=1e-10)


def test_vectors_of_ordinary_magnitude_keep_their_moments_bit_for_bit(rng):
    a, b = rng.standard_normal(5000) * 1e30, rng.standard_normal(5000) * 1e-30
    assert correlate.safe_moments(a, b) == correlate.moments(a, b) + (1.0, 1.0)


@pytest.mark.parametrize("k", [-997, 997])
def test_constant_vectors_are_still_refused_at_any_magnitude(k):
    for method in METHODS:
        with pytest.raises(ValueError, match="a has zero variance"):
            fastrsa.compare(np.full(10, np.ldexp(1.5, k)), np.arange(10.0), method)


@pytest.mark.parametrize("dtype, k", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("per_row", [False, True], ids=["global", "per-row"])
@pytest.mark.parametrize("metric", DISTANCE_METRICS)
@pytest.mark.parametrize("n", SIZES)
def test_rsa_at_any_magnitude(rng, dtype, k, per_row, metric, n):
    X, Y, X_ordinary, Y_ordinary = _spaces(rng, n, dtype, k, per_row, metric)
    for method in METHODS if n == 3 else METHODS[:3]:  # (tau-a's reference is O(M^2); Kendall's SciPy's)
        expected = _rsa_oracle(X_ordinary, Y_ordinary, method, metric)
        assert fastrsa.rsa(X, Y, method, metric) == pytest.approx(expected, abs=SCORE_TOL[dtype]), method
        reference_score = _rsa_oracle(X.astype(np.float64), Y.astype(np.float64), method, metric)
        assert reference_score == pytest.approx(expected, abs=1e-10), method


@pytest.mark.parametrize("k", [-997, 997])
@pytest.mark.parametrize("metric", SIMILARITY_METRICS)
def test_rsa_by_gram_at_any_magnitude(rng, k, metric):
    X, Y = correlated_spaces(rng, 200, 3, 4)
    assert route_of(X, Y, "pearson", metric) == api.GRAM
    given = np.ldexp(X, _row_exponents(200, k))
    assert fastrsa.rsa(given, Y, metric=metric) == pytest.approx(reference.rsa(X, Y, metric=metric), abs=1e-10)


@pytest.mark.parametrize("metric", DISTANCE_METRICS)
@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_rsa_in_row_blocks_at_any_magnitude(rng, monkeypatch, metric, method):
    monkeypatch.setattr(_tuning, "SMALL_PRODUCT", 0)  # the block kernels, not tiles
    X, Y, X_ordinary, Y_ordinary = _spaces(rng, 40, np.float64, 997, per_row=False)
    assert _pairs.tile_side(*X.shape) == 0
    expected = reference.rsa(X_ordinary, Y_ordinary, method, metric)
    assert fastrsa.rsa(X, Y, method, metric) == pytest.approx(expected, abs=1e-10)


def test_a_row_whose_mean_overflows_correlates_as_its_rescaled_self(rng):
    # Issue 17: the mean of this finite row overflowed; NaN similarities
    # reached the rank kernels, and Pearson rsa of 50 items returned 1.0.
    X, Y = rng.standard_normal((50, 5)), rng.standard_normal((50, 5))
    X[0] = [1.7e308, 1.7e308, 0, 1, 2]
    ordinary = X.copy()
    ordinary[0] = np.ldexp(X[0], -1024)  # exact but for the 0, 1, 2 (which vanish next to 1.7e308)
    similarities = fastrsa.rsm(X, "correlation")
    assert np.isfinite(similarities).all()
    np.testing.assert_allclose(similarities, 1 - pdist(ordinary, "correlation"), rtol=0, atol=1e-12)
    for method in METHODS[:2]:
        expected = reference.rsa(ordinary, Y, method, "correlation")
        assert fastrsa.rsa(X, Y, method, "correlation") == pytest.approx(expected, abs=1e-10)
        assert reference.rsa(X, Y, method, "correlation") == pytest.approx(expected, abs=1e-10)


def test_split_half_at_any_magnitude(rng):
    X = rng.standard_normal((30, 12))
    for k in (-997, 997):
        for method, metric in (("pearson", "cosine"), ("spearman", "euclidean"), ("pearson", "sqeuclidean")):
            expected = reference.split_half(X, method=method, metric=metric)
            got = fastrsa.split_half(np.ldexp(X, k), method=method, metric=metric)
            assert got == pytest.approx(expected, abs=1e-10)
            reference_score = reference.split_half(np.ldexp(X, k), method=method, metric=metric)
            assert reference_score == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("k", [-997, -532, 515, 997])
@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_mantel_at_any_magnitude(rng, k, method):
    a, b, a_ordinary, b_ordinary = _vectors(rng, np.float64, k, size=12 * 11 // 2)
    got = fastrsa.mantel(a, b, method, permutations=99, seed=3, keep_null=True)
    ordinary = fastrsa.mantel(a_ordinary, b_ordinary, method, permutations=99, seed=3, keep_null=True)
    assert got.statistic == pytest.approx(_scipy_compare(a_ordinary, b_ordinary, method), abs=1e-10)
    np.testing.assert_allclose(got.null, ordinary.null, rtol=0, atol=1e-12)
    assert got.pvalue == ordinary.pvalue


@pytest.mark.parametrize("dtype, k", [(np.float64, -997), (np.float64, 997), (np.float32, 122)])
@pytest.mark.parametrize("metric", DISTANCE_METRICS)
@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_permutation_test_and_bootstrap_at_any_magnitude(rng, dtype, k, metric, method):
    X, Y, X_ordinary, Y_ordinary = _spaces(rng, 20, dtype, k, per_row=False)
    expected = reference.rsa(X_ordinary, Y_ordinary, method, metric)
    tested = fastrsa.permutation_test(X, Y, method, metric, permutations=50, seed=1, keep_null=True)
    ordinary = fastrsa.permutation_test(X_ordinary, Y_ordinary, method, metric, permutations=50, seed=1, keep_null=True)
    assert tested.statistic == pytest.approx(expected, abs=SCORE_TOL[dtype])
    np.testing.assert_allclose(tested.null, ordinary.null, rtol=0, atol=SCORE_TOL[dtype])
    booted = fastrsa.bootstrap_ci(X, Y, method, metric, n_boot=50, seed=1)
    ordinary = fastrsa.bootstrap_ci(X_ordinary, Y_ordinary, method, metric, n_boot=50, seed=1)
    assert booted.statistic == pytest.approx(expected, abs=SCORE_TOL[dtype])
    np.testing.assert_allclose(booted.distribution, ordinary.distribution, rtol=0, atol=SCORE_TOL[dtype])


@pytest.mark.parametrize("n", [4, 9, 30])
@pytest.mark.parametrize("metric", SIMILARITY_METRICS)
def test_float32_pearson_below_the_gram_cutoff_keeps_its_accuracy_in_anisotropic_spaces(rng, n, metric):
    # All cosines near 1 with a small spread: float32 similarities kept too few
    # of its digits (4e-4 off at N = 4); they are now taken in float64.
    X = (1 + 0.01 * rng.standard_normal((n, 40))).astype(np.float32)
    Y = (X[:, :20] + 0.01 * rng.standard_normal((n, 20))).astype(np.float32)
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    assert not route_of(X, Y, "pearson", metric) == api.GRAM
    assert (1 - pdist(X64, "cosine")).mean() > 0.999
    expected = pearsonr(pdist(X64, metric), pdist(Y64, metric))[0]
    assert fastrsa.rsa(X, Y, metric=metric) == pytest.approx(expected, abs=SCORE_TOL[np.float32])
    score = fastrsa.rsa(X, Y, metric=metric)
    assert score == fastrsa.rsa(X64, Y64, metric=metric)  # the float64 pairs, exactly
    assert fastrsa.permutation_test(X, Y, metric=metric, permutations=10, seed=0).statistic == score
    assert fastrsa.bootstrap_ci(X, Y, metric=metric, n_boot=10, seed=0).statistic == score


def test_rescaled_inputs_are_never_written_to(rng):
    # The rescaling works on copies: read-only inputs would raise on a write.
    X, Y = correlated_spaces(rng, 12, 5, 4)
    X, Y = np.ldexp(X, 997), np.ldexp(Y, -500)
    a, b = fastrsa.rdm(X, "euclidean"), fastrsa.rdm(Y, "sqeuclidean")  # near 2**997 and 2**-1000
    for array in (X, Y, a, b):
        array.flags.writeable = False
    before = [array.copy() for array in (X, Y, a, b)]
    for metric in DISTANCE_METRICS:
        if metric != "sqeuclidean":  # (2**1994: past float64, refused)
            fastrsa.rdm(X, metric)
        for method in ("pearson", "spearman"):
            fastrsa.rsa(X, Y, method, metric)
            fastrsa.permutation_test(X, Y, method, metric, permutations=5, seed=0)
            fastrsa.bootstrap_ci(X, Y, method, metric, n_boot=5, seed=0)
    for method in METHODS:
        fastrsa.compare(a, b, method)
    fastrsa.mantel(a, b, permutations=5, seed=0)
    for array, copy in zip((X, Y, a, b), before):
        np.testing.assert_array_equal(array, copy)


def test_split_half_names_the_half_whose_distances_span_too_far():
    # Rows of 1e-284 beside one of 1e308: no float64 scale holds both rows'
    # squared distances; the error names the half of X, not rsa's "Y".
    X = np.array([[1.2e-284, 2.8e-284, 1.1e-284], [-4.5e-284, 3.1e-284, 1.5e-284], [1.7e308, 1.7e308, 0.0]])
    with pytest.raises(ValueError, match=r"^X\[:, 0::2\] \(the even columns of X\)'s euclidean distances span more than float64's range"):
        fastrsa.split_half(X, metric="euclidean")


def test_bootstrap_resample_without_the_huge_pairs_keeps_the_small_ones():
    # One row of 1.7e308 and four of 1e144: the pairs with the huge row lie
    # 1e327 above the others.  A resample that leaves that row out correlates
    # the small pairs alone; a scale fit for the huge pairs (or their values
    # multiplied by a scale fit for the small ones) took them out of float64's
    # range, and the resample came out wrong or was redrawn.
    X = np.array([[1.70780848e308], [4.29684352e144], [8.01134189e144], [-1.01737248e144], [-3.34613800e144]])
    Y = np.array([[0.12573022], [-0.13210486], [0.64042265], [0.10490012], [-0.53566937]])
    result = fastrsa.bootstrap_ci(X, Y, "pearson", "sqeuclidean", n_boot=1, seed=4)
    draws = documented_resamples(5, 1, 4)[0]  # the documented first resample
    assert 0 not in draws
    i, j = np.triu_indices(5, k=1)
    counts = np.bincount(draws, minlength=5)
    keep = counts[i] * counts[j] > 0
    w = (counts[i] * counts[j])[keep].astype(float)
    with np.errstate(over="ignore"):  # (the pairs with the huge row, left out)
        x = ((X[i, 0] / 1e144 - X[j, 0] / 1e144) ** 2)[keep]  # the kept pairs, scaled (no score sees it)
    y = ((Y[i, 0] - Y[j, 0]) ** 2)[keep]
    mx, my = (w * x).sum() / w.sum(), (w * y).sum() / w.sum()
    want = (w * (x - mx) * (y - my)).sum() / np.sqrt((w * (x - mx) ** 2).sum() * (w * (y - my) ** 2).sum())
    assert result.distribution[0] == pytest.approx(want, abs=1e-10)
