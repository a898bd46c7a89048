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
    # (2-D arrays are rows of vectors: compare correlates them row by row, tests/test_batched.py)
    with pytest.raises(ValueError, match=r"a must be 1-D"):
        fastrsa.compare(GOOD[None], GOOD[None])


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


# ---------------------------------------------------------------------------
# Inputs that are not plain arrays: converted by duck typing, or refused in
# words that name the argument.


def spaces_of(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6))
    return X, X @ rng.standard_normal((6, 5)) + rng.standard_normal((n, 5))


def test_dataframes_are_matched_by_index_not_by_position():
    pd = pytest.importorskip("pandas")
    X, Y = spaces_of()
    labels = [f"item{i}" for i in range(len(X))]
    frame_x, frame_y = pd.DataFrame(X, index=labels), pd.DataFrame(Y, index=labels)
    shuffled = frame_y.sample(frac=1, random_state=1)
    expected = fastrsa.rsa(X, Y)
    assert fastrsa.rsa(X, shuffled.to_numpy()) != pytest.approx(expected, abs=0.1)  # by position: another answer
    assert fastrsa.rsa(frame_x, shuffled) == pytest.approx(expected, abs=1e-12)
    assert fastrsa.rsa(frame_x, shuffled, method="spearman") == pytest.approx(fastrsa.rsa(X, Y, "spearman"), abs=1e-12)
    assert fastrsa.permutation_test(frame_x, shuffled, permutations=9, seed=0).statistic == pytest.approx(expected)
    assert fastrsa.bootstrap_ci(frame_x, shuffled, n_boot=9, seed=0).statistic == pytest.approx(expected)
    before = shuffled.copy()
    fastrsa.rsa(frame_x, shuffled)
    pd.testing.assert_frame_equal(shuffled, before)  # reordered in a copy
    # Only one side labelled: by position, as for arrays.
    assert fastrsa.rsa(frame_x, shuffled.to_numpy()) == fastrsa.rsa(X, shuffled.to_numpy())


def test_dataframes_with_different_labels_are_refused_with_counts():
    pd = pytest.importorskip("pandas")
    X, Y = spaces_of()
    frame_x = pd.DataFrame(X, index=[f"item{i}" for i in range(40)])
    frame_y = pd.DataFrame(Y, index=[f"item{i}" for i in range(3, 43)])
    with pytest.raises(ValueError, match=r"labels differ: 3 of X's 40 labels are not among Y's and 3 of Y's 40 are "
                                         r"not among X's \(first of X's: 'item0'\); select the shared labels first"):
        fastrsa.rsa(frame_x, frame_y)
    with pytest.raises(ValueError, match=r"1 of X's 40 labels are not among Y's and 0 of Y's 39"):
        fastrsa.rsa(frame_x, frame_x.iloc[::-1].iloc[:39])
    repeated = pd.DataFrame(Y, index=["a"] * 40)
    with pytest.raises(ValueError, match=r"Y's labels repeat, so its rows cannot be matched by label"):
        fastrsa.rsa(frame_x, repeated)


def test_series_in_compare_are_matched_by_index():
    pd = pytest.importorskip("pandas")
    X, Y = spaces_of()
    a, b = pd.Series(fastrsa.rsm(X)), pd.Series(fastrsa.rsm(Y))
    shuffled = b.sample(frac=1, random_state=2)
    assert fastrsa.compare(a, shuffled, "spearman") == pytest.approx(fastrsa.compare(a, b, "spearman"), abs=1e-12)


class FakeRDMs:
    """What compare reads of an rsatoolbox ``RDMs``: ``dissimilarities`` of
    shape (n_rdm, n_pairs), in pdist order."""

    def __init__(self, *vectors):
        self.dissimilarities = np.array(vectors)
        self.n_rdm = len(vectors)


def test_an_object_holding_one_rdm_is_its_vector_and_several_are_refused():
    X, Y = spaces_of()
    a, b = fastrsa.rdm(X), fastrsa.rdm(Y)
    assert fastrsa.compare(FakeRDMs(a), FakeRDMs(b), "spearman") == fastrsa.compare(a, b, "spearman")
    assert fastrsa.mantel(FakeRDMs(a), b, permutations=9, seed=0) == fastrsa.mantel(a, b, permutations=9, seed=0)
    with pytest.raises(ValueError, match=r"^b holds 3 RDMs; pass one at a time \(for rsatoolbox's RDMs, b\[i\]"):
        fastrsa.compare(a, FakeRDMs(a, b, a))


class FakeDtype:
    def __init__(self, name):
        self.name = name

    def __str__(self):
        return f"torch.{self.name}"


class FakeTensor:
    """The part of torch.Tensor's protocol fastrsa uses, with torch's
    refusals: no NumPy view of a tensor that requires grad, no bfloat16 in
    NumPy.  bfloat16 values are float32 with the low 16 bits cleared."""

    def __init__(self, values, dtype="float32", requires_grad=False, device="cpu"):
        values = np.asarray(values, np.float32)
        if dtype == "bfloat16":
            values = (values.view(np.uint32) & np.uint32(0xFFFF0000)).view(np.float32)
        self.values, self.dtype, self.requires_grad, self.device = values, FakeDtype(dtype), requires_grad, device

    def detach(self):
        return FakeTensor(self.values, self.dtype.name, False, self.device)

    def cpu(self):
        return FakeTensor(self.values, self.dtype.name, self.requires_grad, "cpu")

    def float(self):
        return FakeTensor(self.values, "float32", self.requires_grad, self.device)

    def numpy(self):
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self.device != "cpu":
            raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() first.")
        if self.dtype.name == "bfloat16":
            raise TypeError("Got unsupported ScalarType BFloat16")
        return self.values

    def __array__(self, dtype=None, copy=None):
        return self.numpy()


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("requires_grad, device", [(False, "cpu"), (True, "cpu"), (True, "cuda:0")])
def test_tensors_are_detached_moved_and_bfloat16_becomes_float32(dtype, requires_grad, device):
    X, Y = (space.astype(np.float32) for space in spaces_of())
    tensor = FakeTensor(X, dtype, requires_grad, device)
    as_float32 = FakeTensor(X, dtype).detach().float().values  # (bfloat16's values, exactly)
    similarities = fastrsa.rsm(tensor)
    assert similarities.dtype == np.float32
    np.testing.assert_array_equal(similarities, fastrsa.rsm(as_float32))
    assert fastrsa.rsa(tensor, FakeTensor(Y, dtype, requires_grad, device)) == fastrsa.rsa(
        as_float32, FakeTensor(Y, dtype).float().values
    )
    assert fastrsa.compare(FakeTensor(similarities, dtype, requires_grad), similarities) == pytest.approx(1, abs=1e-2)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: fastrsa.rsa([[1, 2], [3, 4, 5], [6, 7]], GOOD[:3]), "X"),
        (lambda: fastrsa.rsa(GOOD, [[1, 2, 3], [4, 5], [6, 7, 8], [9]]), "Y"),
        (lambda: fastrsa.compare([1, 2, 3], [1, [2, 3], 4]), "b"),
        (lambda: fastrsa.rsm([[1, 2], [3, 4], [5, [6, 7]]]), "X"),
    ],
)
def test_ragged_sequences_are_refused_in_words_that_name_the_argument(call, name):
    with pytest.raises(ValueError, match=f"^{name} is not an array of numbers: a ragged sequence"):
        call()


class NoNumPy:
    """An array of another library that refuses to become a NumPy array (as CuPy's)."""

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed")


def test_an_object_numpy_cannot_convert_is_named_with_its_type():
    with pytest.raises(ValueError, match=r"^X is a NoNumPy, which NumPy cannot make an array of \(Implicit"):
        fastrsa.rsm(NoNumPy())


@pytest.mark.parametrize("order", [">", "<"])
def test_either_byte_order_of_float32_stays_float32(order):
    X, Y = spaces_of()
    native_x, native_y = X.astype(np.float32), Y.astype(np.float32)
    swapped_x, swapped_y = X.astype(f"{order}f4"), Y.astype(f"{order}f4")
    for call in (fastrsa.rsm, fastrsa.normalize_rows, fastrsa.rdm):
        result = call(swapped_x)
        assert result.dtype == np.float32
        np.testing.assert_array_equal(result, call(native_x))
    assert fastrsa.rsa(swapped_x, swapped_y, "spearman") == fastrsa.rsa(native_x, native_y, "spearman")
    assert fastrsa.rsm(X.astype(f"{order}f8")).dtype == np.float64


# Each bad seed, in each function that takes one, is refused before any
# work: the inputs are refused too (NaN), and the seed is named first.
BAD_SEEDS = [-1, 1.5, "1", True, [1, 2], np.random.RandomState(0)]
NAN_X = with_value(1, 1, np.nan)
SEEDED = {
    "permutation_test": lambda seed: fastrsa.permutation_test(NAN_X, GOOD, permutations=9, seed=seed),
    "mantel": lambda seed: fastrsa.mantel([1, np.nan, 3], [1, 2, 3], permutations=9, seed=seed),
    "bootstrap_ci": lambda seed: fastrsa.bootstrap_ci(NAN_X, GOOD, n_boot=9, seed=seed),
    "split_half": lambda seed: fastrsa.split_half(NAN_X, "random", seed=seed),
}


@pytest.mark.parametrize("seed", BAD_SEEDS, ids=repr)
@pytest.mark.parametrize("function", SEEDED)
def test_bad_seeds_are_refused_first_naming_seed(function, seed):
    with pytest.raises(ValueError, match=r"^seed=.* is not allowed; use None, a non-negative integer, a "
                                         r"numpy.random.Generator or a numpy.random.SeedSequence$"):
        SEEDED[function](seed)


def test_good_seeds_are_taken():
    X, Y = spaces_of()
    results = [fastrsa.permutation_test(X, Y, permutations=99, seed=seed).pvalue for seed in
               (3, np.int64(3), np.random.SeedSequence(3), np.random.default_rng(3), np.random.PCG64(3))]
    assert len(set(results)) == 1
    assert fastrsa.permutation_test(X, Y, permutations=9, seed=None).permutations == 9
    assert fastrsa.split_half(X, "random", seed=np.random.SeedSequence(4)) == fastrsa.split_half(X, "random", seed=4)


def test_split_half_errors_name_the_half_of_x_not_y():
    X = np.random.default_rng(0).standard_normal((8, 6))
    X[3, 1::2] = 0
    with pytest.raises(ValueError, match=r"^X\[:, 1::2\] \(the odd columns of X\) row 3 is all zeros") as refused:
        fastrsa.split_half(X)
    X[3, 1::2] = 1
    X[:, 3:] = np.outer(np.arange(1, 9), [1, 2, 3])  # the second half: one direction, every cosine 1
    with pytest.raises(ValueError, match=r"^the similarities of X\[:, 3:\] \(the second half of X's columns\) has zero "
                                         r"variance") as constant:
        fastrsa.split_half(X, "halves")
    for error in (refused, constant):
        assert "Y" not in str(error.value)
