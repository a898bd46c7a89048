"""Mutual k-nearest-neighbour alignment and its neighbour lists against the
brute force of fastrsa.reference, float32 and float64: N = 3, tile edges
+-1 (the block set small), k = 1 and k = N - 1, exact ties (integer, binary
and dyadic features, repeated rows), and the inputs it must refuse."""

import numba
import numpy as np
import pytest

from fastrsa import _knn, _tuning, reference

from .helpers import DTYPES

SMALL_BLOCK = 8


@pytest.fixture
def small_block(monkeypatch):
    monkeypatch.setattr(_knn, "BLOCK", SMALL_BLOCK)


def exact_rows(rng, n, d, dtype, kind):
    """Rows whose products and sums of squares are exact in float32 (so
    every pair's cosine is one function of exact numbers, whatever the BLAS
    order): many exact ties, and no all-zero row."""
    if kind == "integers":
        X = rng.integers(-3, 4, (n, d))
    elif kind == "binary":
        X = rng.integers(0, 2, (n, d))
    else:  # dyadic: multiples of 1/8 in [-1, 1]
        X = rng.integers(-8, 9, (n, d)) / 8
    X = X.astype(dtype)
    X[~X.any(axis=1), 0] = 1
    return X


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["integers", "binary", "dyadic"])
@pytest.mark.parametrize("n", [3, SMALL_BLOCK - 1, SMALL_BLOCK, SMALL_BLOCK + 1, 3 * SMALL_BLOCK + 1])
def test_neighbours_equal_the_brute_force_with_exact_ties(rng, small_block, dtype, kind, n):
    X = exact_rows(rng, n, 5, dtype, kind)
    for k in sorted({1, min(3, n - 1), n - 1}):
        found = _knn.neighbours(X, k)
        assert found.dtype == np.int64 and found.shape == (n, k)
        np.testing.assert_array_equal(found, reference.neighbours(X, k))


@pytest.mark.parametrize("dtype", DTYPES)
def test_mutual_knn_equals_the_brute_force_with_d1_not_d2(rng, small_block, dtype):
    n = 4 * SMALL_BLOCK + 3
    X, Y = exact_rows(rng, n, 6, dtype, "integers"), exact_rows(rng, n, 3, dtype, "binary")
    for k in (1, 5, n - 1):
        assert _knn.mutual_knn(X, Y, k) == pytest.approx(reference.mutual_knn(X, Y, k), abs=1e-12)


@pytest.mark.parametrize("block", [SMALL_BLOCK, _knn.BLOCK])
def test_float64_neighbours_equal_the_brute_force(rng, monkeypatch, block):
    monkeypatch.setattr(_knn, "BLOCK", block)
    X, Y = rng.standard_normal((150, 12)), rng.standard_normal((150, 7))
    np.testing.assert_array_equal(_knn.neighbours(X, 10), reference.neighbours(X, 10))
    assert _knn.mutual_knn(X, Y, 10) == pytest.approx(reference.mutual_knn(X, Y, 10), abs=1e-12)


def test_float32_neighbours_are_the_nearest_to_float32_rounding(rng, small_block):
    """float32 products round each pair its own way (and not as the
    brute force's float64 products), so a pair that ties to rounding may
    come in either order: every list must hold items as near as the brute
    force's, to float32's precision, and almost every list be the same."""
    n, k = 200, 10
    X = rng.standard_normal((n, 16)).astype(np.float32)
    found, expected = _knn.neighbours(X, k), reference.neighbours(X, k)
    rows = X.astype(np.float64) / np.linalg.norm(X.astype(np.float64), axis=1, keepdims=True)
    cosines = rows @ rows.T
    items = np.arange(n)[:, None]
    np.testing.assert_allclose(cosines[items, found], cosines[items, expected], rtol=0, atol=1e-6)
    assert (found != items).all() and (np.sort(found, axis=1)[:, 1:] != np.sort(found, axis=1)[:, :-1]).all()
    assert (found == expected).all(axis=1).mean() >= 0.95


@pytest.mark.parametrize("dtype", DTYPES)
def test_repeated_rows_tie_exactly_and_break_by_index(rng, small_block, dtype):
    """Copies of a row (bitwise, or times a power of two) have bitwise the
    same similarity with every other item, so their order is the index's,
    however the BLAS products round."""
    base = rng.standard_normal((12, 9)).astype(dtype)
    X = base[rng.integers(0, 12, 40)]
    X[5] = 4 * X[17]  # a power-of-two multiple counts as a copy
    for k in (1, 6, 39):
        np.testing.assert_array_equal(_knn.neighbours(X, k), reference.neighbours(X, k))
    same = np.flatnonzero((X == X[0]).all(axis=1))
    assert same.size > 1
    np.testing.assert_array_equal(_knn.neighbours(X, same.size - 1)[same[0]], same[1:])  # copies first, by index


def test_all_rows_equal_give_each_item_the_others_by_index(small_block):
    X = np.ones((11, 3))
    expected = np.array([[j for j in range(11) if j != i] for i in range(11)])
    np.testing.assert_array_equal(_knn.neighbours(X, 10), expected)
    assert _knn.mutual_knn(X, X[:, :2], 4) == 1.0


def test_one_feature_ties_by_sign():
    X = np.array([[2.0], [-1.0], [0.5], [-3.0], [7.0]])
    np.testing.assert_array_equal(_knn.neighbours(X, 2), [[2, 4], [3, 0], [0, 4], [1, 0], [0, 2]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_identical_spaces_score_one(rng, small_block, dtype):
    X = rng.standard_normal((50, 8)).astype(dtype)
    assert _knn.mutual_knn(X, X, 5) == 1.0
    assert _knn.mutual_knn(X, 2 * X, 5) == 1.0  # (a power of two changes no cosine)
    assert _knn.mutual_knn(X, X.copy(), 49) == 1.0


def test_unrelated_spaces_score_near_chance(rng):
    n, k = 400, 20
    score = _knn.mutual_knn(rng.standard_normal((n, 10)), rng.standard_normal((n, 10)), k)
    assert 0 < score < 3 * k / (n - 1)


def test_inputs_are_not_modified_and_any_layout_gives_the_same(rng, small_block):
    X = rng.standard_normal((30, 10))
    Y = rng.integers(-5, 6, (30, 4))
    Y[~Y.any(axis=1), 0] = 1
    X32 = X.astype(np.float32)
    copies = [a.copy() for a in (X, Y, X32)]
    expected = _knn.mutual_knn(X, Y, 4)
    assert _knn.mutual_knn(np.asfortranarray(X), np.asfortranarray(Y), 4) == expected
    wide = np.zeros((30, 20))
    wide[:, ::2] = X
    assert _knn.mutual_knn(wide[:, ::2], Y, 4) == expected
    np.testing.assert_array_equal(_knn.neighbours(X32[::-1][::-1], 4), _knn.neighbours(X32, 4))
    _knn.neighbours(np.asfortranarray(X32), 3)
    for array, copy in zip((X, Y, X32), copies):
        np.testing.assert_array_equal(array, copy)
        assert array.dtype == copy.dtype


def test_threads_and_paths_give_the_same_lists(rng, monkeypatch, small_block):
    X = np.round(rng.standard_normal((120, 6)), 1)  # rounded: some ties
    X[X.sum(axis=1) == 0, 0] = 1
    serial = _knn.neighbours(X, 7)
    monkeypatch.setattr(_tuning, "SERIAL_WORK", 0)  # the parallel rounds
    previous = numba.get_num_threads()
    for threads in sorted({1, previous}):
        numba.set_num_threads(threads)
        try:
            np.testing.assert_array_equal(_knn.neighbours(X, 7), serial)
        finally:
            numba.set_num_threads(previous)


@pytest.mark.parametrize("blocks", range(1, 10))
def test_schedule_visits_each_pair_of_blocks_once_in_disjoint_rounds(blocks):
    first, second, rounds = _knn.schedule(blocks)
    assert sorted(zip(first.tolist(), second.tolist())) == [(a, b) for a in range(blocks) for b in range(a, blocks)]
    for begin, end in zip(rounds[:-1], rounds[1:]):
        touched = [block for t in range(begin, end) for block in {first[t], second[t]}]
        assert len(touched) == len(set(touched))


@pytest.mark.parametrize("k", [0, -1, 30, 31, 2.0, 2.5, True, "3", None])
def test_bad_k_is_refused_naming_k(rng, k):
    X = rng.standard_normal((30, 4))
    for call in (lambda: _knn.mutual_knn(X, X, k), lambda: _knn.neighbours(X, k)):
        with pytest.raises(ValueError, match=r"k=.*integer from 1 to n_items - 1"):
            call()


def test_numpy_integer_k_is_taken(rng):
    X = rng.standard_normal((30, 4))
    assert _knn.mutual_knn(X, X, np.int32(3)) == 1.0


def test_bad_spaces_are_refused_before_any_kernel(rng):
    X = rng.standard_normal((10, 3))
    with pytest.raises(ValueError, match=r"X.shape\[0\] == 10 while Y.shape\[0\] == 9"):
        _knn.mutual_knn(X, X[:9], 2)
    with pytest.raises(ValueError, match="must be 2-D"):
        _knn.mutual_knn(X[:, 0], X, 2)
    bad = X.copy()
    bad[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"Y contains NaN or inf \(first at row 4, column 1\)"):
        _knn.mutual_knn(X, bad, 2)
    with pytest.raises(ValueError, match="NaN"):
        _knn.neighbours(bad, 2)
    zero = X.copy()
    zero[3] = 0
    with pytest.raises(ValueError, match="X row 3 is all zeros"):
        _knn.mutual_knn(zero, X, 2)
    with pytest.raises(ValueError, match="at least 3 items"):
        _knn.mutual_knn(X[:2], X[:2], 1)
    with pytest.raises(ValueError, match="dtype"):
        _knn.neighbours(X.astype(complex), 2)


def test_memory_grows_as_n_k_not_n_squared():
    one = _knn.memory_bytes(20_000, 384, 768, 10, itemsize=4, threads=2)
    assert _knn.memory_bytes(40_000, 384, 768, 10, itemsize=4, threads=2) < 2.1 * one
    assert one < 20_000 * 20_000  # far below one byte a pair
    assert _knn.memory_bytes(20_000, 384, 768, 20, 4, 2) > one
    assert _knn.memory_bytes(20_000, 384, 768, 10, 8, 2) > one


def test_spaces_on_disk_give_what_they_give_in_memory(rng, tmp_path, small_block):
    X, Y = rng.standard_normal((40, 6)).astype(np.float32), rng.standard_normal((40, 3))
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    assert _knn.mutual_knn(tmp_path / "x.npy", str(tmp_path / "y.npy"), 5) == _knn.mutual_knn(X, Y, 5)
    np.testing.assert_array_equal(_knn.neighbours(tmp_path / "x.npy", 5), _knn.neighbours(X, 5))
