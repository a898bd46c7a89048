"""Each Numba kernel against fastrsa.reference (or SciPy), float32 and float64,
with the sizes that break tiled and chunked code: N = 3, tile edges +-1, chunk
edges +-1, ties."""

import numba
import numpy as np
import pytest
from scipy.stats import rankdata

from fastrsa import _gram, reference
from fastrsa._kernels import correlate, rank, tiles
from fastrsa._kernels.normalize import normalize_rows_into

from .helpers import DTYPES, ELEMENT_TOL, SCORE_TOL, correlated_spaces


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("centre", [False, True])
def test_normalize_rows_into_matches_reference(rng, dtype, centre):
    X = rng.standard_normal((7, 5)).astype(dtype)
    out = np.empty_like(X)
    normalize_rows_into(X, out, centre)
    expected = reference.normalize_rows(X.astype(np.float64) - (X.mean(axis=1, keepdims=True) if centre else 0))
    assert out.dtype == dtype
    np.testing.assert_allclose(out, expected, rtol=0, atol=ELEMENT_TOL[dtype])
    assert np.allclose(np.linalg.norm(out.astype(np.float64), axis=1), 1, atol=ELEMENT_TOL[dtype])


def test_normalize_rows_into_survives_extreme_magnitudes():
    X = np.array([[1e300, 1e300, 0.0], [3e-320, 4e-320, 0.0], [-2.0, 0.0, 1e-200]])
    out = np.empty_like(X)
    normalize_rows_into(X, out, False)
    np.testing.assert_allclose(out[0], [2**-0.5, 2**-0.5, 0], rtol=1e-15)
    np.testing.assert_allclose(out[1], [0.6, 0.8, 0], rtol=1e-2)  # subnormal inputs carry ~3 digits
    np.testing.assert_allclose(out[2], [-1, 0, 5e-201], rtol=1e-15)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, tile", [(3, 1), (3, 2), (3, 4), (7, 4), (8, 4), (9, 4), (11, 5), (64, 32), (65, 32)])
def test_dot_condensed_into_matches_reference_at_tile_edges(rng, dtype, n, tile):
    X = rng.standard_normal((n, 6)).astype(dtype)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    out = np.full(n * (n - 1) // 2, np.nan, dtype)
    tiles.dot_condensed_into(X, out, tile)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, reference.rsm(X.astype(np.float64)), rtol=0, atol=ELEMENT_TOL[dtype])


@pytest.mark.parametrize("n, tile", [(3, 1), (9, 4), (11, 5), (40, 32)])
def test_sqeuclidean_condensed_into_matches_reference(rng, n, tile):
    X = rng.standard_normal((n, 4)) * 10
    X[1] = X[0] + 1e-9  # a pair where |x|^2 + |y|^2 - 2 x.y cancels
    out = np.full(n * (n - 1) // 2, np.nan)
    tiles.sqeuclidean_condensed_into(X, np.einsum("ij,ij->i", X, X), out, tile)
    np.testing.assert_allclose(out, reference.rdm(X, "sqeuclidean"), rtol=1e-10, atol=0)


@pytest.mark.parametrize("n", [5, 500])
def test_tile_blocks_enumerates_the_upper_triangle_once(n):
    blocks = n // 5
    seen = [tiles.tile_blocks(t, blocks) for t in range(blocks * (blocks + 1) // 2)]
    assert seen == [(r, c) for r in range(blocks) for c in range(r, blocks)]


def test_condensed_index_is_pdist_order():
    n = 6
    positions = [tiles.condensed_index(i, j, n) for i in range(n) for j in range(i + 1, n)]
    assert positions == list(range(n * (n - 1) // 2))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [2, 3, correlate.CHUNK - 1, correlate.CHUNK, correlate.CHUNK + 1, 3 * correlate.CHUNK + 7])
def test_pearson_matches_reference_at_chunk_edges(rng, dtype, size):
    a = rng.standard_normal(size).astype(dtype)
    b = (a + rng.standard_normal(size)).astype(dtype)
    got = correlate.pearson(a, b)
    assert got == pytest.approx(reference.compare(a, b), abs=SCORE_TOL[np.float64])


def test_moments_stay_accurate_far_from_zero(rng):
    # A naive sum of squares loses every digit here; shifted chunk sums do not.
    a = 1e8 + rng.standard_normal(3 * correlate.CHUNK + 1)
    b = -1e8 + a + rng.standard_normal(a.size)
    assert correlate.pearson(a, b) == pytest.approx(np.corrcoef(a - 1e8, b + 1e8)[0, 1], abs=1e-9)
    mean_a, _, ss_a, _, _ = correlate.moments(a, b)
    assert mean_a == pytest.approx(a.mean(), rel=1e-15)
    assert ss_a == pytest.approx(((a - a.mean()) ** 2).sum(), rel=1e-9)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1, 2, 3, rank.CHUNK - 1, rank.CHUNK + 1, 2 * rank.CHUNK + 5])
def test_average_ranks_match_rankdata(rng, dtype, size):
    values = rng.standard_normal(size).astype(dtype)
    got = rank.average_ranks(values)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, rankdata(values))


@pytest.mark.parametrize("dtype", DTYPES)
def test_average_ranks_with_ties_signed_zeros_and_extremes(rng, dtype):
    info = np.finfo(dtype)
    special = np.array([0.0, -0.0, info.max, -info.max, info.tiny, -info.tiny, 1.0, -1.0], dtype)
    values = np.concatenate([rng.integers(-5, 5, 2 * rank.CHUNK).astype(dtype), special])
    rng.shuffle(values)
    np.testing.assert_array_equal(rank.average_ranks(values), rankdata(values))


def test_average_ranks_tie_run_across_chunk_boundaries():
    values = np.zeros(3 * rank.CHUNK + 3)
    values[: rank.CHUNK - 2] = -1.0
    values[-2:] = 1.0  # one run of zeros spans two chunk boundaries
    np.testing.assert_array_equal(rank.average_ranks(values), rankdata(values))


@pytest.mark.parametrize("centre", [False, True])
@pytest.mark.parametrize("n", [3, 4, _gram.BLOCK + 1])
def test_gram_pair_moments_equal_the_sums_over_pairs(rng, centre, n):
    X, Y = correlated_spaces(rng, n, 5, 3)
    metric = "correlation" if centre else "cosine"
    a, b = reference.rsm(X, metric), reference.rsm(Y, metric)
    count, sum_x, sum_y, sum_xx, sum_yy, sum_xy = _gram.pair_moments(X, Y, centre)
    assert count == a.size
    # The Gram path sums similarities less a constant c (c = |mean unit row|^2);
    # centred second moments and the co-moment do not depend on c.
    assert sum_xx - sum_x**2 / count == pytest.approx(((a - a.mean()) ** 2).sum(), rel=1e-10)
    assert sum_yy - sum_y**2 / count == pytest.approx(((b - b.mean()) ** 2).sum(), rel=1e-10)
    assert sum_xy - sum_x * sum_y / count == pytest.approx(((a - a.mean()) * (b - b.mean())).sum(), rel=1e-9, abs=1e-9)


def test_kernels_are_deterministic_across_thread_counts(rng):
    a = rng.standard_normal(5 * correlate.CHUNK + 3)
    b = a + rng.standard_normal(a.size)
    default = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = correlate.moments(a, b), rank.average_ranks(a)
    finally:
        numba.set_num_threads(default)
    many = correlate.moments(a, b), rank.average_ranks(a)
    assert single[0] == many[0]
    np.testing.assert_array_equal(single[1], many[1])
