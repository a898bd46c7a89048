"""Each Numba kernel against fastrsa.reference (or SciPy), float32 and float64,
with the sizes that break blocked and chunked code: N = 3, block edges +-1,
chunk and bucket edges +-1, ties, crowded and extreme values."""

import math
import os
import subprocess
import sys

import numba
import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import rankdata

import fastrsa
from fastrsa import _gram, _tuning, reference
from fastrsa._kernels import correlate, rank, tiles
from fastrsa._kernels.normalize import every_row_has_length, norms_into, normalize_rows_into, power_of_two_rows_into, squares_of

from .helpers import DTYPES, ELEMENT_TOL, SCORE_TOL, correlated_spaces


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape, centre",
    # One feature (no centring: that would leave zero rows), an odd shape, and
    # one above PARALLEL_MIN for the parallel compilation.
    [((3, 1), False), ((7, 5), False), ((7, 5), True), ((300, 250), False), ((300, 250), True)],
)
def test_normalize_rows_into_matches_reference(rng, dtype, shape, centre):
    X = rng.standard_normal(shape).astype(dtype)
    out = np.empty_like(X)
    normalize_rows_into(X, out, centre)
    expected = reference.normalize_rows(X.astype(np.float64) - (X.mean(axis=1, keepdims=True) if centre else 0))
    assert out.dtype == dtype
    np.testing.assert_allclose(out, expected, rtol=0, atol=ELEMENT_TOL[dtype])
    assert np.allclose(np.linalg.norm(out.astype(np.float64), axis=1), 1, atol=ELEMENT_TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_norms_are_the_rows_lengths(rng, dtype):
    X = rng.standard_normal((9, 13)).astype(dtype) * np.logspace(-5, 5, 9, dtype=dtype)[:, None]
    norms = np.full(9, np.nan)
    assert norms_into(X, norms)
    np.testing.assert_allclose(norms, np.linalg.norm(X.astype(np.float64), axis=1), rtol=1e-14)
    integers = rng.integers(-50, 50, (6, 7)).astype(dtype)  # exact sums of squares
    assert norms_into(integers, norms[:6])
    np.testing.assert_array_equal(norms[:6], np.sqrt((integers.astype(np.float64) ** 2).sum(axis=1)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("exponent", [-300, -40, -1, 0, 1, 40, 300])
def test_power_of_two_rows_scale_each_row_exactly_to_a_peak_in_one_to_two(rng, dtype, exponent):
    exponent = int(np.clip(exponent, -35, 35)) if dtype == np.float32 else exponent
    X = (rng.standard_normal((8, 5)) * 10.0 ** np.linspace(exponent - 3, exponent + 3, 8)[:, None]).astype(dtype)
    X[0] = 2.0**exponent * np.array([1, -1, 0.5, 0, 0.25])  # peak exactly a power of two
    out = np.empty_like(X)
    power_of_two_rows_into(X, out)
    peaks = np.abs(out).max(axis=1)
    assert out.dtype == dtype and ((1 <= peaks) & (peaks < 2)).all()
    # Exact: each row is its input times one power of two.
    ratios = out.astype(np.float64) / np.where(X == 0, 1, X)
    ratios[X == 0] = np.nan
    for row, ratio in zip(X, ratios):
        powers = ratio[~np.isnan(ratio)]
        assert (powers == powers[0]).all() and np.log2(powers[0]) == np.round(np.log2(powers[0]))


@pytest.mark.parametrize(
    "dtype, scale, fits",
    # Products of rows this long or short would overflow or underflow in the
    # dtype (float32 reaches only 3.4e38 and 1.2e-38), so their cosines need
    # normalised rows first.
    [(np.float32, 1e14, True), (np.float32, 1e16, False), (np.float32, 1e-14, True), (np.float32, 1e-16, False),
     (np.float64, 1e120, True), (np.float64, 1e130, False), (np.float64, 1e-120, True), (np.float64, 1e-130, False)],
)
def test_norms_refuse_rows_whose_products_leave_the_dtypes_range(rng, dtype, scale, fits):
    X = rng.standard_normal((5, 4)).astype(dtype)
    X[3] *= dtype(scale)
    assert norms_into(X, np.empty(5)) == fits


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_dimensional_rows_normalise_to_exactly_plus_or_minus_one(rng, dtype):
    # Exact, not approximate: cosines of 1-d rows are all ties at +-1, and
    # Spearman's ranks depend on those ties surviving rounding.
    X = rng.standard_normal((40, 1)).astype(dtype) * np.logspace(-30, 30, 40, dtype=dtype)[:, None]
    out = np.empty_like(X)
    normalize_rows_into(X, out, False)
    assert np.array_equal(out, np.sign(X))


def test_spearman_of_one_dimensional_spaces_keeps_exact_ties():
    # The case hypothesis found: n = 3, d = 1, where every similarity is +-1.
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((3, 1)), rng.standard_normal((3, 1))
    assert fastrsa.rsa(X, Y, "spearman") == pytest.approx(reference.rsa(X, Y, "spearman"), abs=1e-12)


def test_normalize_rows_into_survives_extreme_magnitudes():
    X = np.array([[1e300, 1e300, 0.0], [3e-320, 4e-320, 0.0], [-2.0, 0.0, 1e-200]])
    out = np.empty_like(X)
    normalize_rows_into(X, out, False)
    np.testing.assert_allclose(out[0], [2**-0.5, 2**-0.5, 0], rtol=1e-15)
    np.testing.assert_allclose(out[1], [0.6, 0.8, 0], rtol=1e-2)  # subnormal inputs carry ~3 digits
    np.testing.assert_allclose(out[2], [-1, 0, 5e-201], rtol=1e-15)
    ones = np.array([[1e-300], [-1e300], [5e-324], [-3.0]])  # 1-d rows whose squares under- or overflow
    normalize_rows_into(ones, ones_out := np.empty_like(ones), False)
    assert np.array_equal(ones_out, [[1.0], [-1.0], [1.0], [-1.0]])


# (n, rows, columns): blocks of one row, rows and columns that divide n or
# leave one over, a last block of one row, columns narrower than rows.
BLOCK_EDGES = [(3, 1, 1), (3, 2, 2), (3, 4, 4), (7, 4, 4), (8, 4, 4), (9, 4, 4), (11, 5, 3), (12, 3, 5), (65, 32, 64)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, rows, columns", BLOCK_EDGES)
def test_dot_condensed_into_matches_reference_at_block_edges(rng, dtype, n, rows, columns):
    X = rng.standard_normal((n, 6)).astype(dtype)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    out = np.full(n * (n - 1) // 2, np.nan, dtype)
    tiles.dot_condensed_into(X, out, rows, columns)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, reference.rsm(X.astype(np.float64)), rtol=0, atol=ELEMENT_TOL[dtype])


@pytest.mark.parametrize("n, rows, columns", BLOCK_EDGES)
def test_sqeuclidean_condensed_into_matches_reference(rng, n, rows, columns):
    X = rng.standard_normal((n, 4)) * 10
    X[1] = X[0] + 1e-9  # a pair where |x|^2 + |y|^2 - 2 x.y cancels
    out = np.full(n * (n - 1) // 2, np.nan)
    tiles.sqeuclidean_condensed_into(X, np.einsum("ij,ij->i", X, X), out, rows, columns)
    np.testing.assert_allclose(out, reference.rdm(X, "sqeuclidean"), rtol=1e-10, atol=0)


# (n, side): one tile, one tile exactly, a tile edge -1, +0, +1, and many tiles.
TILE_EDGES = [(3, 8), (8, 8), (15, 8), (16, 8), (17, 8), (61, 16)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, side", TILE_EDGES)
def test_product_tiles_match_reference_at_tile_edges(rng, dtype, n, side):
    X = rng.standard_normal((n, 6)).astype(dtype)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    out = np.full(n * (n - 1) // 2, np.nan, dtype)
    tiles.tiles_into(X, tiles.NO_ROW_VALUES, tiles.PRODUCTS, out, side)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, reference.rsm(X.astype(np.float64)), rtol=0, atol=ELEMENT_TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["COSINES", "COSINE_DISTANCES"])
@pytest.mark.parametrize("n, side", TILE_EDGES)
def test_cosine_tiles_and_blocks_match_reference_at_tile_edges(rng, dtype, kind, n, side):
    # Rows of lengths from 1e-6 to 1e6: the products are scaled, not the rows.
    X = (rng.standard_normal((n, 6)) * np.logspace(-6, 6, n)[:, None]).astype(dtype)
    norms = np.empty(n)
    assert norms_into(X, norms)
    expected = (reference.rdm if kind == "COSINE_DISTANCES" else reference.rsm)(X.astype(np.float64))
    out = np.full(n * (n - 1) // 2, np.nan, dtype)
    tiles.tiles_into(X, norms, getattr(tiles, kind), out, side)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, expected, rtol=0, atol=ELEMENT_TOL[dtype])
    blocks = np.full(n * (n - 1) // 2, np.nan, dtype)
    tiles.condensed_into(X, norms, getattr(tiles, kind), blocks, side // 2 + 1, side)
    np.testing.assert_allclose(blocks, expected, rtol=0, atol=ELEMENT_TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_cosines_of_integer_rows_are_scipys_bit_for_bit(rng, dtype):
    # Products and squared lengths of small integers are exact; the cosine is
    # then one correctly rounded function of them, as in pdist, so pairs that
    # tie in SciPy tie here (and the float64 cosines are SciPy's).
    X = rng.integers(0, 3, (61, 9)).astype(dtype)
    X[X.sum(axis=1) == 0, 0] = 1
    norms = np.empty(61)
    assert norms_into(X, norms)
    for side in (8, 16):
        out = np.empty(61 * 60 // 2, dtype)
        tiles.tiles_into(X, norms, tiles.COSINE_DISTANCES, out, side)
        expected = pdist(X.astype(np.float64), "cosine")
        if dtype == np.float64:
            np.testing.assert_array_equal(out, expected)
        else:
            np.testing.assert_array_equal(out, expected.astype(np.float32))


@pytest.mark.parametrize("n, side", TILE_EDGES)
def test_squared_distance_tiles_match_reference(rng, n, side):
    X = rng.standard_normal((n, 4)) * 10
    X[1] = X[0] + 1e-9  # a pair where |x|^2 + |y|^2 - 2 x.y cancels
    out = np.full(n * (n - 1) // 2, np.nan)
    tiles.tiles_into(X, np.einsum("ij,ij->i", X, X), tiles.SQUARED_DISTANCES, out, side)
    np.testing.assert_allclose(out, reference.rdm(X, "sqeuclidean"), rtol=1e-10, atol=0)


@pytest.mark.parametrize("dtypes", [(np.float64, np.float64), (np.float32, np.float32), (np.float32, np.float64)])
@pytest.mark.parametrize("n, sides", [(3, (8, 8)), (17, (8, 16)), (61, (16, 8)), (61, (24, 16))])
def test_tiles_of_two_spaces_write_what_one_space_at_a_time_writes(rng, dtypes, n, sides):
    X = rng.standard_normal((n, 6)).astype(dtypes[0])
    Y = rng.standard_normal((n, 11)).astype(dtypes[1])
    alone = [np.full(n * (n - 1) // 2, np.nan, Z.dtype) for Z in (X, Y)]
    together = [np.full(n * (n - 1) // 2, np.nan, Z.dtype) for Z in (X, Y)]
    # X's cosines from its rows as they are, Y's products of its rows.
    norms = np.empty(n)
    assert norms_into(X, norms)
    tiles.tiles_into(X, norms, tiles.COSINES, alone[0], sides[0])
    tiles.tiles_into(Y, tiles.NO_ROW_VALUES, tiles.PRODUCTS, alone[1], sides[1])
    tiles.tiles_of_two_into(X, norms, tiles.COSINES, together[0], sides[0],
                            Y, tiles.NO_ROW_VALUES, tiles.PRODUCTS, together[1], sides[1])
    for one, two in zip(alone, together):
        assert two.dtype == one.dtype
        np.testing.assert_array_equal(two, one)
    X, Y = X.astype(np.float64), Y.astype(np.float64)
    norms = [np.einsum("ij,ij->i", Z, Z) for Z in (X, Y)]
    alone = [np.full(n * (n - 1) // 2, np.nan) for _ in range(2)]
    tiles.tiles_into(X, norms[0], tiles.SQUARED_DISTANCES, alone[0], sides[0])
    tiles.tiles_into(Y, norms[1], tiles.SQUARED_DISTANCES, alone[1], sides[1])
    together = [np.full(n * (n - 1) // 2, np.nan) for _ in range(2)]
    kind = tiles.SQUARED_DISTANCES
    tiles.tiles_of_two_into(X, norms[0], kind, together[0], sides[0], Y, norms[1], kind, together[1], sides[1])
    for one, two in zip(alone, together):
        np.testing.assert_array_equal(two, one)


@pytest.mark.parametrize("d", [1, 2, 30, 100, 300, 768, 1000, 4096, 4097, 20000])
def test_tile_side_keeps_each_tile_within_its_work(d):
    side = tiles.tile_side(10_000, d)
    if d > tiles.TILE_WORK // 64:  # not even 8 x 8 tiles are small enough
        assert side == 0
        return
    assert side % 8 == 0 and 8 <= side <= tiles.ROWS
    assert side * side * d <= tiles.TILE_WORK
    assert side == tiles.ROWS or (side + 8) ** 2 * d > tiles.TILE_WORK  # the largest that is
    assert tiles.tile_side(5, d) == 8  # never much more than the items


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, rows, columns", BLOCK_EDGES)
def test_count_pairs_higher_counts_every_pair_once(rng, dtype, n, rows, columns):
    X = rng.standard_normal((n, 3)).astype(dtype)
    Y = rng.standard_normal((n, 5)).astype(dtype)
    expected = np.sum(reference.rsm(Y.astype(np.float64)) > reference.rsm(X.astype(np.float64)))
    assert tiles.count_pairs_higher(X / np.linalg.norm(X, axis=1, keepdims=True),
                                    Y / np.linalg.norm(Y, axis=1, keepdims=True), rows, columns) == expected


def test_condensed_index_is_pdist_order():
    n = 6
    positions = [tiles.condensed_index(i, j, n) for i in range(n) for j in range(i + 1, n)]
    assert positions == list(range(n * (n - 1) // 2))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "size", [2, 3, correlate.CHUNK - 1, correlate.CHUNK, correlate.CHUNK + 1, 3 * correlate.CHUNK + 7, 5 * correlate.CHUNK + 3]
)
def test_pearson_matches_reference_at_chunk_edges(rng, dtype, size):
    a = rng.standard_normal(size).astype(dtype)
    b = (a + rng.standard_normal(size)).astype(dtype)
    got = correlate.pearson(a, b)
    assert got == pytest.approx(reference.compare(a, b), abs=SCORE_TOL[np.float64])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6, 7, correlate.CHUNK + 1, correlate.CHUNK + 2, correlate.CHUNK + 3,
                                  2 * correlate.CHUNK + 5])
def test_moments_are_numpys_at_every_tail_of_the_partial_sums(rng, dtype, size):
    # (Four partial sums of the values, two of the squares: sizes 1-7 end in each of their tails.)
    a = (3.0 + rng.standard_normal(size)).astype(dtype)
    b = (a - 2.0 * rng.standard_normal(size)).astype(dtype)
    mean_a, mean_b, ss_a, ss_b, cross = correlate.moments(a, b)
    x, y = a.astype(np.float64), b.astype(np.float64)
    dx, dy = x - math.fsum(x) / size, y - math.fsum(y) / size
    assert mean_a == pytest.approx(math.fsum(x) / size, rel=1e-14) and mean_b == pytest.approx(math.fsum(y) / size, rel=1e-14)
    scale = math.fsum(dx * dx) + math.fsum(dy * dy) + 1e-300
    for got, expected in ((ss_a, math.fsum(dx * dx)), (ss_b, math.fsum(dy * dy)), (cross, math.fsum(dx * dy))):
        assert abs(got - expected) <= 1e-13 * scale, (got, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("length", [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 300])
def test_squares_of_a_row_is_its_float64_sum_of_squares(rng, dtype, length):
    X = rng.standard_normal((4, length)).astype(dtype)
    for row in (*X, X[:, 0], X[1, ::2]):  # (rows, a column and a strided row: any 1-D view)
        values = row.astype(np.float64)
        assert squares_of(row) == pytest.approx(math.fsum(values * values), rel=1e-15 * max(4, length))
    integers = rng.integers(-50, 50, (3, length)).astype(dtype)
    for row in integers:
        assert squares_of(row) == float(np.sum(row.astype(np.int64) ** 2))  # (exact for small integers)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_row_has_length_finds_each_unusable_row(rng, dtype):
    X = rng.standard_normal((6, 13)).astype(dtype)
    assert every_row_has_length(X)
    big = np.finfo(dtype).max
    assert every_row_has_length(np.full((2, 3), big, dtype)) == (dtype == np.float32)  # (float64 squares of float32 fit)
    for value in (np.nan, np.inf, -np.inf):
        bad = X.copy()
        bad[4, 12] = value
        assert not every_row_has_length(bad), value
    zero = X.copy()
    zero[5] = 0.0
    assert not every_row_has_length(zero)
    tiny = np.full((1, 13), np.finfo(dtype).smallest_subnormal, dtype)
    # (float64 squares of float32's smallest values are normal; float64's underflow to zero, and the
    # exact check decides such rows.)
    assert every_row_has_length(tiny) == (dtype == np.float32)
    assert every_row_has_length(X[::2]) and not every_row_has_length(zero[1:])


def test_moments_stay_accurate_far_from_zero(rng):
    # A naive sum of squares loses every digit here; shifted chunk sums do not.
    a = 1e8 + rng.standard_normal(3 * correlate.CHUNK + 1)
    b = -1e8 + a + rng.standard_normal(a.size)
    assert correlate.pearson(a, b) == pytest.approx(np.corrcoef(a - 1e8, b + 1e8)[0, 1], abs=1e-9)
    mean_a, _, ss_a, _, _ = correlate.moments(a, b)
    assert mean_a == pytest.approx(a.mean(), rel=1e-15)
    assert ss_a == pytest.approx(((a - a.mean()) ** 2).sum(), rel=1e-9)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1, 2, 3, rank.COARSE_SIZE - 1, rank.COARSE_SIZE + 1, 5 * rank.COARSE_SIZE + 5])
def test_average_ranks_match_rankdata(rng, dtype, size):
    values = rng.standard_normal(size).astype(dtype)
    got = rank.average_ranks(values)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, rankdata(values))


def _crowded(rng, size):
    """Nine values in ten within 1e-6 of 1: one coarse bucket holds them."""
    values = rng.standard_normal(size)
    return np.where(rng.random(size) < 0.9, 1 + values * 1e-6, values)


def _outlier(rng, size):
    values = rng.standard_normal(size)
    values[size // 2] = 1e30  # stretches the range: every other value shares a bucket
    return values


def _few_values(rng, size):
    return rng.integers(-5, 5, size).astype(np.float64)  # long runs of ties


def _small_ties(rng, size):
    """About three copies of each value: ties inside fine buckets of a few values."""
    return rng.integers(0, size // 3, size) * 0.37


def _wide(rng, size):
    return rng.standard_normal(size) * np.logspace(-30, 30, size)  # a range of 60 decades


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [rank.COARSE_SIZE, 3 * rank.COARSE_SIZE + 1])
@pytest.mark.parametrize("make", [_crowded, _outlier, _few_values, _small_ties, _wide])
def test_average_ranks_of_hard_distributions(rng, dtype, size, make):
    values = make(rng, size).astype(dtype)
    np.testing.assert_array_equal(rank.average_ranks(values), rankdata(values))


def test_coarse_buckets_hold_about_coarse_size_values_up_to_a_cap():
    assert rank.coarse_buckets(rank.COARSE_SIZE + 1) == 1
    assert rank.coarse_buckets(5 * rank.COARSE_SIZE + 5) == 5
    assert rank.coarse_buckets(rank.COARSE_SIZE * rank.COARSE_BUCKETS) == rank.COARSE_BUCKETS
    assert rank.coarse_buckets(2**31) == rank.COARSE_BUCKETS  # far past the cap (N = 16,000 has 2**27 pairs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [40, 3 * rank.COARSE_SIZE])
def test_average_ranks_with_ties_signed_zeros_and_extremes(rng, dtype, size):
    info = np.finfo(dtype)
    special = np.array([0.0, -0.0, info.max, -info.max, info.tiny, -info.tiny, 1.0, -1.0, 0.0, -0.0], dtype)
    values = np.concatenate([rng.integers(-5, 5, size).astype(dtype), special])
    rng.shuffle(values)
    np.testing.assert_array_equal(rank.average_ranks(values), rankdata(values))


@pytest.mark.parametrize("dtype", DTYPES)
def test_average_ranks_all_equal(dtype):
    for size in (5, 2 * rank.COARSE_SIZE + 1):
        np.testing.assert_array_equal(rank.average_ranks(np.full(size, 0.25, dtype)), np.full(size, (size + 1) / 2))


@pytest.mark.parametrize("parts", [1, 3])
def test_average_ranks_into_may_overwrite_its_input(rng, parts):
    values = rng.standard_normal(2 * rank.COARSE_SIZE + 7)
    expected = rankdata(values)
    rank.average_ranks_into(values, values, *rank.rank_scratch(values.size, values.dtype), parts)
    np.testing.assert_array_equal(values, expected)


def _centred_rank_sums(a, b):
    x, y = rankdata(a) - (a.size + 1) / 2, rankdata(b) - (b.size + 1) / 2
    return x @ x, y @ y, x @ y


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [2, 3, 40, rank.COARSE_SIZE, rank.COARSE_SIZE + 1, 5 * rank.COARSE_SIZE + 5])
@pytest.mark.parametrize("keep", [False, True])
def test_spearman_moments_match_the_ranks_of_rankdata(rng, dtype, size, keep):
    a = rng.integers(-50, 50, size).astype(dtype)  # ties: average ranks are half-integers
    b = (a + rng.standard_normal(size) * 30).astype(dtype)
    ranks_a, ranks_b = np.full(size, np.nan), np.full(size if keep else 0, np.nan)
    a_before, b_before = a.copy(), b.copy()
    got = rank.spearman_moments_into(a, b, ranks_a, ranks_b, *rank.rank_scratch(size, dtype), rank.PARTS)
    np.testing.assert_allclose(got, _centred_rank_sums(a, b), rtol=1e-14)
    if size >= 3:
        rho = correlate.pearson_from_moments(*got)
        assert rho == pytest.approx(reference.compare(a, b, "spearman"), abs=SCORE_TOL[np.float64])
    np.testing.assert_array_equal(ranks_a, rankdata(a))
    if keep:
        np.testing.assert_array_equal(ranks_b, rankdata(b))
    np.testing.assert_array_equal(a, a_before)
    np.testing.assert_array_equal(b, b_before)


def test_spearman_moments_may_overwrite_their_inputs(rng):
    a = rng.standard_normal(3 * rank.COARSE_SIZE + 1)
    b = a + rng.standard_normal(a.size)
    expected = _centred_rank_sums(a, b)
    ranks = rankdata(a), rankdata(b)
    got = rank.spearman_moments_into(a, b, a, b, *rank.rank_scratch(a.size, a.dtype), rank.PARTS)
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    np.testing.assert_array_equal(a, ranks[0])
    np.testing.assert_array_equal(b, ranks[1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [2, 3, 40, rank.COARSE_SIZE, rank.COARSE_SIZE + 1, 5 * rank.COARSE_SIZE + 5])
@pytest.mark.parametrize("integer", [np.int32, np.int64])
def test_doubled_ranks_then_moments_equal_spearman_moments_bit_for_bit(rng, dtype, size, integer):
    a = rng.integers(-50, 50, size).astype(dtype)  # ties: doubled ranks are odd and even
    b = (a + rng.standard_normal(size) * 30).astype(dtype)
    a_before, b_before = a.copy(), b.copy()
    sorted_values, doubled = rank.rank_scratch(size, dtype)
    doubled = doubled.astype(integer)
    doubled_a = np.full(size, -1, integer)
    rank.doubled_ranks_into(a, doubled_a, sorted_values, doubled, rank.PARTS)
    np.testing.assert_array_equal(doubled_a, 2 * rankdata(a))
    got = rank.spearman_moments_of_doubled(doubled_a, b, sorted_values, doubled, rank.PARTS)
    expected = rank.spearman_moments_into(a, b, np.empty(size), np.empty(0), *rank.rank_scratch(size, dtype), rank.PARTS)
    assert got == expected
    np.testing.assert_allclose(got, _centred_rank_sums(a, b), rtol=1e-14)
    np.testing.assert_array_equal(a, a_before)
    np.testing.assert_array_equal(b, b_before)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 1025, 5000])
def test_fault_in_writes_zero_at_each_page_start_only(dtype, size):
    out = np.full(size, 7, dtype)
    tiles.fault_in(out)
    step = tiles.PAGE // out.itemsize
    expected = np.full(size, 7, dtype)
    expected[::step] = 0
    np.testing.assert_array_equal(out, expected)


def test_ranks_are_the_same_with_int64_scratch(rng):
    values = rng.integers(0, 1000, 2 * rank.COARSE_SIZE + 3).astype(np.float64)
    sorted_values, doubled = rank.rank_scratch(values.size, values.dtype)
    assert doubled.dtype == np.int32
    narrow, wide = np.empty(values.size), np.empty(values.size)
    rank.average_ranks_into(values, narrow, sorted_values, doubled, rank.PARTS)
    rank.average_ranks_into(values, wide, sorted_values, doubled.astype(np.int64), rank.PARTS)
    np.testing.assert_array_equal(narrow, wide)
    np.testing.assert_array_equal(narrow, rankdata(values))


def test_quicksort_sorts_runs_and_carries_the_index(rng):
    values = np.concatenate([rng.integers(0, 3, 500), rng.standard_normal(500), np.zeros(300)])
    index = np.arange(values.size)
    original = values.copy()
    rank._quicksort(values, index, 0, values.size)
    np.testing.assert_array_equal(values, np.sort(original))
    np.testing.assert_array_equal(original[index], values)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("centre", [False, True])
@pytest.mark.parametrize("n", [3, 4, _tuning.GRAM_BLOCK + 1])
def test_gram_pair_moments_equal_the_sums_over_pairs(rng, dtype, centre, n):
    X, Y = correlated_spaces(rng, n, 5, 3, dtype)
    metric = "correlation" if centre else "cosine"
    a, b = (reference.rsm(Z.astype(np.float64), metric) for Z in (X, Y))
    count, sum_x, sum_y, sum_xx, sum_yy, sum_xy = _gram.pair_moments(X, Y, centre)
    assert count == a.size
    # The Gram path sums similarities less a constant c (c = |mean unit row|^2);
    # centred second moments and the co-moment do not depend on c.  float32
    # input takes its Gram products from float32 BLAS.
    rel = 1e-10 if dtype == np.float64 else 1e-6
    assert sum_xx - sum_x**2 / count == pytest.approx(((a - a.mean()) ** 2).sum(), rel=rel)
    assert sum_yy - sum_y**2 / count == pytest.approx(((b - b.mean()) ** 2).sum(), rel=rel)
    assert sum_xy - sum_x * sum_y / count == pytest.approx(((a - a.mean()) * (b - b.mean())).sum(), rel=rel * 10, abs=1e-9)


def test_kernels_are_deterministic_across_thread_counts(rng):
    a = rng.standard_normal(5 * rank.COARSE_SIZE + 3)
    b = a + rng.standard_normal(a.size)
    X = rng.standard_normal((101, 300))

    def run():
        similarities, distances = np.empty(X.shape[0] * 50), np.empty(X.shape[0] * 50)
        tiles.tiles_into(X, tiles.NO_ROW_VALUES, tiles.PRODUCTS, similarities, 24)
        tiles.tiles_into(X, np.einsum("ij,ij->i", X, X), tiles.SQUARED_DISTANCES, distances, 24)
        two = np.empty(X.shape[0] * 50), np.empty(X.shape[0] * 50)
        norms = np.empty(X.shape[0])
        norms_into(X, norms)
        tiles.tiles_of_two_into(X, norms, tiles.COSINES, two[0], 16,
                                np.ascontiguousarray(X[:, :7]), tiles.NO_ROW_VALUES, tiles.PRODUCTS, two[1], 40)
        spearman = rank.spearman_moments_into(a, b, np.empty(a.size), np.empty(0), *rank.rank_scratch(a.size, a.dtype), 3)
        return (correlate.moments(a, b), spearman), rank.average_ranks(a), similarities, distances, *two

    default = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = run()
    finally:
        numba.set_num_threads(default)
    many = run()
    assert single[0] == many[0]
    for one, all_ in zip(single[1:], many[1:]):
        np.testing.assert_array_equal(one, all_)


_RUN_KERNELS = """
import os, sys
import numpy as np
from fastrsa._kernels import correlate, normalize, tiles
a = np.arange(10.0); X = np.ones((3, 4))
threads = lambda: len(os.listdir("/proc/self/task"))
tiles.condensed_index(1, 2, 5)  # a serial kernel: Numba starts its own helper thread on the first call
before = threads()
for version in sys.argv[1].split(","):
    if version == "serial":
        correlate._chunk_moments_serial(a, a, 1.0, 1.0); normalize._normalize_serial(X, X.copy(), False)
    else:
        correlate._chunk_moments_parallel(a, a, 1.0, 1.0); normalize._normalize_parallel(X, X.copy(), False)
    print(version, threads() - before)
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads in /proc (Linux)")
def test_serial_kernels_stay_serial_when_the_parallel_ones_were_cached_first(tmp_path):
    # Numba keys its on-disk cache by function and signature, not by the
    # parallel option: a serial compilation once loaded the parallel one's
    # machine code from the cache.  A parallel launch starts Numba's worker
    # threads, so a serial kernel must leave the thread count alone.
    def run(versions):
        env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), NUMBA_NUM_THREADS="2")
        result = subprocess.run([sys.executable, "-c", _RUN_KERNELS, versions], env=env,
                                capture_output=True, text=True, check=True)
        return dict(line.split() for line in result.stdout.splitlines())

    run("parallel")  # compiles the parallel versions into the empty cache
    counts = run("serial,parallel")  # the serial versions, then the parallel ones, from a warm cache
    assert counts["serial"] == "0"
    assert int(counts["parallel"]) > 0  # the check can see a launch


_CALL_IN_A_CHAIN = """
import sys
import numpy as np
import fastrsa.jit
from fastrsa._kernels import correlate
a = np.random.default_rng(0).standard_normal(int(sys.argv[2]))
(correlate.moments if sys.argv[1] == "moments" else fastrsa.jit.pearson)(a, a + 1)
"""


def test_kernels_load_from_a_cache_filled_by_several_processes(tmp_path):
    # jit.pearson calls moments, which calls a parallel kernel.  With moments
    # cached by one process and pearson by the next, Numba 0.68 loaded a
    # pearson from the cache that crashed (segfault) on a parallel call.
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), NUMBA_NUM_THREADS="2")
    for function, size in [("moments", 100_000), ("pearson", 100), ("pearson", 100_000)]:
        result = subprocess.run([sys.executable, "-c", _CALL_IN_A_CHAIN, function, str(size)], env=env,
                                capture_output=True, text=True)
        assert result.returncode == 0, (function, size, result.returncode, result.stderr[-2000:])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, d", [(1, 1), (5, 3), (13, 300), (21, 7)])
def test_tile_products_are_one_function_of_the_two_rows(rng, dtype, n, d):
    # Every product of the four-by-two blocks, at any place in any tile (the
    # edges repeat rows), is what the pair alone gives, both ways round, and
    # near the float64 product.
    X = rng.standard_normal((n, d)).astype(dtype)
    whole = np.full((n, n), np.nan, dtype)
    tiles.tile_products_into(X, 0, n, 0, n, whole)
    for i in range(n):
        for j in range(i, n):
            alone = np.zeros((1, 1), dtype)
            tiles.tile_products_into(X, i, i + 1, j, j + 1, alone)
            assert whole[i, j] == alone[0, 0]
            if i != j:
                swapped = np.zeros((1, 1), dtype)
                tiles.tile_products_into(X, j, j + 1, i, i + 1, swapped)
                assert swapped[0, 0] == alone[0, 0]
    if n > 4:  # an off-diagonal tile: rows 0:3 against columns 3:n, whole rectangle
        part = np.zeros((3, n - 3), dtype)
        tiles.tile_products_into(X, 0, 3, 3, n, part)
        np.testing.assert_array_equal(part, whole[:3, 3:])
    upper = np.triu_indices(n)
    expected = (X.astype(np.float64) @ X.astype(np.float64).T)[upper]
    np.testing.assert_allclose(whole[upper], expected, rtol=0, atol=(1e-4 if dtype == np.float32 else 1e-12) * d)
