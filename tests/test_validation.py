"""Bad input: a ValueError that names the argument, the problem and what is
accepted, raised before any kernel runs, with the input left untouched."""

import numpy as np
import pytest

import fastrsa
import fastrsa.reference

GOOD = np.arange(12, dtype=np.float64).reshape(4, 3) + 1


def with_value(row, column, value):
    X = GOOD.copy()
    X[row, column] = value
    return X


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("call", [fastrsa.rsm, fastrsa.rdm, fastrsa.normalize_rows, lambda X: fastrsa.rsa(X, GOOD)])
def test_non_finite_values_are_refused_with_their_position(call, value):
    with pytest.raises(ValueError, match=r"X contains NaN or inf \(first at row 2, column 1\)"):
        call(with_value(2, 1, value))


def test_non_finite_values_in_y_name_y():
    with pytest.raises(ValueError, match=r"^Y contains NaN or inf"):
        fastrsa.rsa(GOOD, with_value(0, 0, np.nan))


def test_non_finite_values_in_compare_name_the_vector():
    with pytest.raises(ValueError, match=r"^b contains NaN or inf \(first at index 1\)"):
        fastrsa.compare([1.0, 2.0, 3.0], [1.0, np.nan, 2.0])


@pytest.mark.parametrize("call", [fastrsa.rsm, fastrsa.normalize_rows, lambda X: fastrsa.rsa(GOOD, X)])
def test_all_zero_row_is_refused_for_cosine_with_its_index(call):
    X = GOOD.copy()
    X[3] = 0
    with pytest.raises(ValueError, match=r"row 3 is all zeros.*metric='euclidean'"):
        call(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rows_that_sum_to_zero_or_overflow_are_fine_for_cosine(dtype):
    # A first check takes row sums; these rows defeat it and must pass the exact one.
    big = np.finfo(dtype).max / 2
    X = np.array([[1, -1, 0], [big, big, 1], [-big, -big, 2], [1, 2, 3]], dtype)
    scaled = X.astype(np.float64) / np.abs(X.astype(np.float64)).max(axis=1, keepdims=True)  # cosine ignores scale
    expected = fastrsa.reference.rsm(scaled)
    np.testing.assert_allclose(fastrsa.rsm(X), expected, atol=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_values_in_a_row_that_sums_to_zero_are_refused(value):
    X = with_value(1, 0, value)
    X[1, 1:] = [-value, 0] if value == np.inf else [0, 0]
    with pytest.raises(ValueError, match=r"X contains NaN or inf \(first at row 1, column"):
        fastrsa.rsm(X)


def test_all_zero_row_is_fine_for_euclidean():
    X = GOOD.copy()
    X[3] = 0
    assert np.isfinite(fastrsa.rdm(X, "euclidean")).all()


def test_constant_row_is_refused_for_correlation():
    X = GOOD.copy()
    X[1] = 7
    with pytest.raises(ValueError, match=r"X row 1 is constant; correlation"):
        fastrsa.rsm(X, metric="correlation")
    assert fastrsa.rsm(X).shape == (6,)  # fine for cosine


def test_different_numbers_of_items_are_refused():
    with pytest.raises(ValueError, match=r"X.shape\[0\] == 4 while Y.shape\[0\] == 5"):
        fastrsa.rsa(GOOD, np.ones((5, 3)) + np.eye(5, 3))


@pytest.mark.parametrize("n", [0, 1, 2])
def test_fewer_than_three_items_are_refused(n):
    with pytest.raises(ValueError, match=f"X has {n} rows; RSA needs at least 3 items"):
        fastrsa.rsm(GOOD[:n])


def test_no_features_are_refused():
    with pytest.raises(ValueError, match="no columns"):
        fastrsa.rsm(np.empty((4, 0)))


@pytest.mark.parametrize("shape", [(12,), (2, 3, 2), ()])
def test_arrays_that_are_not_2d_are_refused(shape):
    with pytest.raises(ValueError, match=r"X must be 2-D with shape \(n_items, n_features\); got shape"):
        fastrsa.rsm(GOOD.reshape(shape) if shape else np.float64(1.0))


def test_vectors_that_are_not_1d_are_refused():
    with pytest.raises(ValueError, match=r"a must be 1-D"):
        fastrsa.compare(GOOD, GOOD)


@pytest.mark.parametrize(
    "X",
    [GOOD.astype(str), GOOD.astype(object), GOOD.astype(complex), GOOD > 3, GOOD.astype(np.longdouble)],
    ids=["str", "object", "complex", "bool", "longdouble"],
)
def test_non_numeric_dtypes_are_refused(X):
    if X.dtype.itemsize <= 8 and X.dtype.kind == "f":
        pytest.skip("longdouble is float64 on this platform")
    with pytest.raises(ValueError, match=r"X has dtype .*; expected integer or real floating-point"):
        fastrsa.rsm(X)


def test_compare_refuses_vectors_of_different_lengths():
    with pytest.raises(ValueError, match=r"a.size == 3 while b.size == 4"):
        fastrsa.compare([1, 2, 3], [1, 2, 3, 4])


def test_compare_refuses_fewer_than_two_values():
    with pytest.raises(ValueError, match="at least 2"):
        fastrsa.compare([1.0], [2.0])


@pytest.mark.parametrize("method", ["pearson", "spearman"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compare_refuses_a_vector_with_zero_variance(method, dtype):
    with pytest.raises(ValueError, match="^b has zero variance"):
        fastrsa.compare(np.arange(5, dtype=dtype), np.full(5, 0.3, dtype), method)
    with pytest.raises(ValueError, match="^a has zero variance"):
        fastrsa.compare(np.zeros(5, dtype), np.arange(5, dtype=dtype), method)


@pytest.mark.parametrize("method", ["pearson", "spearman"])
@pytest.mark.parametrize("n", [5, 3000])  # pairwise path and Gram path
def test_rsa_refuses_a_space_whose_similarities_are_constant(method, n):
    rng = np.random.default_rng(0)
    same_direction = np.outer(rng.uniform(1, 2, n), [1.0, 2.0, 3.0])  # every cosine is 1
    with pytest.raises(ValueError, match="the similarities of Y has zero variance"):
        fastrsa.rsa(rng.standard_normal((n, 3)), same_direction, method=method)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: fastrsa.rsa(GOOD, GOOD, method="kendal"), r"method='kendal' is not supported; use one of 'pearson', 'spearman'"),
        (lambda: fastrsa.compare([1, 2], [2, 1], method=None), r"method=None is not supported"),
        (lambda: fastrsa.rsa(GOOD, GOOD, metric="cityblock"), r"metric='cityblock' is not supported; use one of 'cosine', 'correlation', 'euclidean', 'sqeuclidean'"),
        (lambda: fastrsa.rsm(GOOD, metric="euclidean"), r"metric='euclidean' is not supported; use one of 'cosine', 'correlation'$"),
        (lambda: fastrsa.rdm(GOOD, metric="Cosine"), r"metric='Cosine' is not supported"),
    ],
)
def test_unknown_method_or_metric_lists_the_valid_ones(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_refused_input_is_left_untouched():
    X = with_value(1, 1, np.nan)
    before = X.copy()
    with pytest.raises(ValueError):
        fastrsa.rsa(X, GOOD)
    np.testing.assert_array_equal(X, before)
