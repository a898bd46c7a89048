"""The public functions against SciPy and fastrsa.reference."""

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import pdist
from scipy.stats import pearsonr, spearmanr

import fastrsa
from fastrsa import _pairs, api, reference

from .helpers import DTYPES, ELEMENT_TOL, SCORE_TOL, correlated_spaces, route_of

SIMILARITY_METRICS = ["cosine", "correlation"]
DISTANCE_METRICS = ["cosine", "correlation", "euclidean", "sqeuclidean"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_normalize_rows(rng, dtype):
    X = rng.standard_normal((5, 3)).astype(dtype)
    got = fastrsa.normalize_rows(X)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, reference.normalize_rows(X.astype(np.float64)), atol=ELEMENT_TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("metric", SIMILARITY_METRICS)
@pytest.mark.parametrize("n", [3, 4, 31, 257, 301])
def test_rsm_matches_pdist(rng, dtype, metric, n):
    X = rng.standard_normal((n, 9)).astype(dtype)
    got = fastrsa.rsm(X, metric)
    assert got.dtype == dtype and got.shape == (n * (n - 1) // 2,)
    np.testing.assert_allclose(got, 1 - pdist(X.astype(np.float64), metric), rtol=0, atol=ELEMENT_TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("length", [1e-3, 1e3, "extreme"])
def test_rsm_of_rows_of_any_length_matches_pdist(rng, dtype, length):
    # Small inputs take cosines from the products of the rows as they are,
    # unless some row is too long or too short for its products in its dtype
    # ("extreme": lengths from 1e-35 to 1e35, or 1e-300 to 1e300): then
    # every row is normalised first.  Both give the reference's cosines.
    exponents = np.linspace(-35, 35, 40) if dtype == np.float32 else np.linspace(-300, 300, 40)
    lengths = 10.0**exponents if length == "extreme" else np.full(40, length)
    X = rng.standard_normal((40, 9)) / 3
    expected = 1 - pdist(X, "cosine")
    got = fastrsa.rsm((X * lengths[:, None]).astype(dtype))
    np.testing.assert_allclose(got, expected, rtol=0, atol=ELEMENT_TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_rsm_of_one_dimensional_rows_is_exactly_plus_or_minus_one(rng, dtype):
    X = (rng.standard_normal((30, 1)) * np.logspace(-20, 20, 30)[:, None]).astype(dtype)
    np.testing.assert_array_equal(fastrsa.rsm(X), (np.sign(X) @ np.sign(X).T)[np.triu_indices(30, 1)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("metric", DISTANCE_METRICS)
@pytest.mark.parametrize("n", [3, 40, 301])
def test_rdm_matches_pdist(rng, dtype, metric, n):
    X = (rng.standard_normal((n, 7)) * 3 + 1).astype(dtype)
    got = fastrsa.rdm(X, metric)
    expected = pdist(X.astype(np.float64), metric)
    if metric in SIMILARITY_METRICS:
        assert got.dtype == dtype
        np.testing.assert_allclose(got, expected, rtol=0, atol=ELEMENT_TOL[dtype])
    else:
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=0)


def test_rdm_euclidean_keeps_relative_precision_for_near_duplicates():
    X = np.array([[1e4, 2e4, 3e4], [1e4 + 1e-6, 2e4, 3e4], [0.0, 1.0, 2.0]])
    np.testing.assert_allclose(fastrsa.rdm(X, "euclidean"), pdist(X), rtol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_compare_matches_scipy(rng, dtype, method):
    a = rng.standard_normal(1001).astype(dtype)
    b = (a + rng.standard_normal(1001)).astype(dtype)
    scipy_fn = pearsonr if method == "pearson" else spearmanr
    got = fastrsa.compare(a, b, method)
    assert isinstance(got, float)
    assert got == pytest.approx(scipy_fn(a.astype(np.float64), b.astype(np.float64))[0], abs=SCORE_TOL[np.float64])


def test_compare_spearman_ranks_ties_on_average():
    a = [1, 2, 2, 2, 3, 5, 5, 0]
    b = [3, 1, 4, 1, 5, 9, 2, 6]
    assert fastrsa.compare(a, b, "spearman") == pytest.approx(spearmanr(a, b)[0], abs=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", ["pearson", "spearman"])
@pytest.mark.parametrize("metric", DISTANCE_METRICS)
@pytest.mark.parametrize("n", [3, 5, 120])
def test_rsa_matches_scipy_on_pdist(rng, dtype, method, metric, n):
    X, Y = correlated_spaces(rng, n, 12, 5, dtype)  # D1 != D2
    scipy_fn = pearsonr if method == "pearson" else spearmanr
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    expected = scipy_fn(pdist(X64, metric), pdist(Y64, metric))[0]
    got = fastrsa.rsa(X, Y, method=method, metric=metric)
    assert isinstance(got, float)
    assert got == pytest.approx(expected, abs=SCORE_TOL[dtype])
    assert got == pytest.approx(reference.rsa(X64, Y64, method, metric), abs=SCORE_TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("metric", SIMILARITY_METRICS)
@pytest.mark.parametrize("d1, d2", [(3, 2), (4, 9)])
def test_gram_shortcut_equals_compare_of_rsms(rng, dtype, metric, d1, d2):
    n = 600
    X, Y = correlated_spaces(rng, n, d1, d2, dtype)
    assert api._prefer_gram(n, d1, d2)
    expected = fastrsa.compare(fastrsa.rsm(X, metric), fastrsa.rsm(Y, metric))
    assert fastrsa.rsa(X, Y, metric=metric) == pytest.approx(expected, abs=SCORE_TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_gram_shortcut_stays_exact_in_an_anisotropic_space(rng, dtype):
    # Mean cosine 0.999 with a small spread: the uncentred Gram sums would
    # cancel, and so would sums taken from m·G·m (1e-4 off in float32 BLAS).
    n = 1500
    X = (1 + 0.03 * rng.standard_normal((n, 8))).astype(dtype)
    Y = (X[:, :5] + 0.02 * rng.standard_normal((n, 5))).astype(dtype)
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    assert api._prefer_gram(n, 8, 5)
    assert (1 - pdist(X64, "cosine")).mean() > 0.999
    expected = pearsonr(pdist(X64, "cosine"), pdist(Y64, "cosine"))[0]
    assert fastrsa.rsa(X, Y) == pytest.approx(expected, abs=SCORE_TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("metric", DISTANCE_METRICS)
def test_spearman_in_turn_equals_compare_of_the_two_vectors(rng, dtype, metric):
    # Large enough products to take the block kernels, where rsa ranks X's
    # vector, then writes Y's over it.
    X, Y = correlated_spaces(rng, 300, 400, 380, dtype)
    assert route_of(X, Y, "spearman", metric) == api.SPEARMAN_IN_TURN
    X_before, Y_before = X.copy(), Y.copy()
    expected = fastrsa.compare(_pairs.condensed(X, metric, _pairs.tile_side(*X.shape)), _pairs.condensed(Y, metric, _pairs.tile_side(*Y.shape)), "spearman")
    assert fastrsa.rsa(X, Y, "spearman", metric) == expected
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    assert expected == pytest.approx(spearmanr(pdist(X64, metric), pdist(Y64, metric))[0], abs=SCORE_TOL[dtype])
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(Y, Y_before)


@pytest.mark.parametrize("constant", ["X", "Y"])
def test_spearman_in_turn_names_the_space_that_does_not_vary(rng, constant):
    X, Y = correlated_spaces(rng, 300, 400, 380)
    if constant == "X":
        X = np.ones_like(X)
    else:
        Y = np.ones_like(Y)
    assert route_of(X, Y, "spearman", "cosine") == api.SPEARMAN_IN_TURN
    with pytest.raises(ValueError, match=f"the similarities of {constant} has zero variance"):
        fastrsa.rsa(X, Y, "spearman")


def test_spearman_in_turn_needs_less_memory_than_both_vectors(rng):
    X, Y = correlated_spaces(rng, 300, 400, 380)
    pairs = 300 * 299 // 2
    assert fastrsa.plan(fastrsa.rsa, X, Y, "spearman").memory_bytes == pairs * (8 + 8 + 4 + 4) + 300 * 400 * 8
    assert route_of(X, Y.astype(np.float32), "spearman") != api.SPEARMAN_IN_TURN  # pairs of two dtypes
    assert fastrsa.plan(fastrsa.rsa, X, Y.astype(np.float32), "spearman").memory_bytes >= pairs * (8 + 4 + 8 + 4)


def test_rsa_is_the_same_with_one_thread_and_all(rng):
    X, Y = correlated_spaces(rng, 700, 6, 4)
    calls = [
        lambda: fastrsa.rsa(X, Y),
        lambda: fastrsa.rsa(X, Y, method="spearman"),
        lambda: fastrsa.rsa(X, Y, metric="euclidean"),
        lambda: fastrsa.rsm(X)[::997].tolist(),
    ]
    default = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = [call() for call in calls]
    finally:
        numba.set_num_threads(default)
    many = [call() for call in calls]
    np.testing.assert_allclose(single[-1], many[-1], rtol=0, atol=1e-12)
    for one, all_ in zip(single[:-1], many[:-1]):
        assert one == pytest.approx(all_, abs=1e-12)


@pytest.mark.parametrize(
    "convert",
    [
        lambda X: np.asfortranarray(X),
        lambda X: np.repeat(X, 2, axis=1)[:, ::2],  # non-contiguous view
        lambda X: X.astype(np.float16),
        lambda X: np.rint(X * 10).astype(np.int32),
        lambda X: np.rint(X * 10).astype(np.uint8) + 1,
    ],
    ids=["fortran", "strided", "float16", "int32", "uint8"],
)
def test_other_layouts_and_dtypes_are_converted(rng, convert):
    X, Y = correlated_spaces(rng, 30, 6, 4)
    X2 = convert(X)
    expected = reference.rsa(np.asarray(X2, dtype=np.float64), Y)
    assert fastrsa.rsa(X2, Y, method="spearman") == pytest.approx(reference.rsa(np.asarray(X2, np.float64), Y, "spearman"), abs=1e-10)
    assert fastrsa.rsa(X2, Y) == pytest.approx(expected, abs=1e-10)
    assert fastrsa.rsm(X2).dtype == np.float64


def test_inputs_are_never_modified(rng):
    X, Y = correlated_spaces(rng, 50, 5, 4)
    X[3] *= 1e5
    for array in (X, Y):
        array.flags.writeable = False  # any write would raise
    before = X.copy(), Y.copy()
    fastrsa.normalize_rows(X)
    for metric in DISTANCE_METRICS:
        fastrsa.rdm(X, metric)
        fastrsa.rsa(X, Y, metric=metric)
        fastrsa.rsa(X, Y, method="spearman", metric=metric)
    a, b = fastrsa.rsm(X), fastrsa.rsm(Y)
    a.flags.writeable = b.flags.writeable = False
    fastrsa.compare(a, b, "spearman")
    np.testing.assert_array_equal(X, before[0])
    np.testing.assert_array_equal(Y, before[1])


def test_docstring_example_of_rsa_is_exact_under_affine_maps(rng):
    X = rng.standard_normal((40, 6))
    assert fastrsa.rsa(X, X) == pytest.approx(1.0, abs=1e-12)
    assert fastrsa.rsa(X, -X, method="spearman") == pytest.approx(1.0, abs=1e-12)  # cosines unchanged by sign flip
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    assert fastrsa.rsa(X, X @ Q) == pytest.approx(1.0, abs=1e-12)  # rotations keep every cosine


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    X=arrays(np.float64, st.tuples(st.integers(3, 12), st.integers(1, 5)), elements=finite),
    dtype=st.sampled_from(DTYPES),
)
def test_rsm_property_matches_reference(X, dtype):
    X = X.astype(dtype)
    if (~X.any(axis=1)).any():
        with pytest.raises(ValueError, match="all zeros"):
            fastrsa.rsm(X)
        return
    # Scaling a row leaves its cosines alone; it keeps the naive reference
    # clear of underflow when hypothesis draws tiny rows.
    scaled = X.astype(np.float64) / np.abs(X).max(axis=1, keepdims=True)
    np.testing.assert_allclose(fastrsa.rsm(X), reference.rsm(scaled), atol=ELEMENT_TOL[dtype])


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(3, 15),
    d=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    seed=st.integers(0, 2**32 - 1),
    method=st.sampled_from(["pearson", "spearman"]),
    metric=st.sampled_from(DISTANCE_METRICS),
)
def test_rsa_property_matches_reference(n, d, seed, method, metric):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n, d[0])), rng.standard_normal((n, d[1]))
    if metric == "correlation" and min(d) < 3:
        return  # row-centred 1-d or 2-d rows correlate at exactly +-1: ties decided by rounding
    a, b = reference.rdm(X, metric), reference.rdm(Y, metric)
    if np.ptp(a) < 1e-9 or np.ptp(b) < 1e-9:  # a constant RDM (d=1 cosine: all +-1 ties) can be refused
        return
    got = fastrsa.rsa(X, Y, method, metric)
    assert -1 <= got <= 1
    assert got == pytest.approx(reference.rsa(X, Y, method, metric), abs=1e-10)
    assert fastrsa.rsa(Y, X, method, metric) == pytest.approx(got, abs=1e-12)
