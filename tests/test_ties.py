"""Ties as SciPy sees them: bitwise-equal rows give bitwise-equal pairs,
integer rows with equal exact products and lengths give equal cosines, and
rank scores on such data agree with SciPy."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import kendalltau, spearmanr

import fastrsa
from fastrsa import _tuning
from fastrsa._kernels.duplicates import representatives, unify_copies

from .helpers import DTYPES, ELEMENT_TOL

METRICS = ["cosine", "correlation", "euclidean", "sqeuclidean"]


def repeated_rows(rng, n, d, distinct, dtype=np.float64):
    """n rows drawn from ``distinct`` random rows, and which one each is."""
    which = rng.integers(0, distinct, n)
    which[:distinct] = np.arange(distinct)  # every distinct row at least once
    rng.shuffle(which)
    return rng.standard_normal((distinct, d)).astype(dtype)[which], which


def pairs_of(which):
    i, j = np.triu_indices(which.size, 1)
    return which[i], which[j]


def assert_equal_rows_give_equal_pairs(values, which):
    a, b = pairs_of(which)
    low, high = np.minimum(a, b), np.maximum(a, b)
    for key in set(zip(low.tolist(), high.tolist())):
        chosen = values[(low == key[0]) & (high == key[1])]
        assert (chosen == chosen[0]).all(), (key, np.unique(chosen))


@pytest.fixture(params=["tiles", "blocks"])
def layout(request, monkeypatch):
    """Both layouts of the pairs: square tiles (small calls) and row blocks."""
    if request.param == "blocks":
        monkeypatch.setattr(_tuning, "SMALL_PRODUCT", 0)
    return request.param


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("n, d", [(3, 4), (40, 7), (61, 300)])
def test_bitwise_equal_rows_give_bitwise_equal_pairs(rng, layout, dtype, metric, n, d):
    X, which = repeated_rows(rng, n, d, max(2, n // 3), dtype)
    assert_equal_rows_give_equal_pairs(fastrsa.rdm(X, metric), which)
    if metric in ("cosine", "correlation"):
        similarities = fastrsa.rsm(X, metric)
        assert_equal_rows_give_equal_pairs(similarities, which)
        assert similarities.max() <= 1.0  # a row with its copy: never above 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_integer_rows_with_equal_products_and_lengths_get_equal_cosines(rng, layout, dtype):
    X = rng.integers(0, 2, (80, 12))  # binary features: most pairs tie by design
    X[X.sum(axis=1) == 0, 0] = 1
    cosines = fastrsa.rsm(X.astype(dtype))
    i, j = np.triu_indices(80, 1)
    squares = (X * X).sum(axis=1)
    keys = np.stack([(X[i] * X[j]).sum(axis=1), np.minimum(squares[i], squares[j]), np.maximum(squares[i], squares[j])], 1)
    groups = {}
    for key, value in zip(map(tuple, keys), cosines):
        groups.setdefault(key, set()).add(value)
    assert all(len(values) == 1 for values in groups.values())
    assert len(groups) < cosines.size // 10  # the data do tie
    if dtype == np.float64:  # and the cosines are SciPy's, bit for bit
        np.testing.assert_array_equal(fastrsa.rdm(X), pdist(X, "cosine"))


def _tie_heavy(rng, kind, n, d):
    if kind == "repeated":
        return repeated_rows(rng, n, d, max(2, n // 4))[0]
    if kind == "binary":
        X = rng.integers(0, 2, (n, d)).astype(float)
    else:  # small counts
        X = rng.integers(0, 5, (n, d)).astype(float)
    X[X.sum(axis=1) == 0, 0] = 1
    return X


SCIPY = {"spearman": spearmanr, "kendall": kendalltau}


@pytest.mark.parametrize("kind", ["repeated", "binary", "counts"])
@pytest.mark.parametrize("metric", ["cosine", "euclidean", "correlation"])
@pytest.mark.parametrize("method", ["spearman", "kendall"])
def test_rank_scores_on_tie_heavy_data_agree_with_scipy(rng, kind, metric, method):
    if metric == "correlation" and kind != "repeated":
        # SciPy's correlation distances of integer rows round each pair's
        # centred product its own way, so ties of mathematically equal
        # correlations come and go with the rows' order; only copies of
        # rows tie for certain (docs/index.md).
        kind = "repeated"
    compared = 0
    for _ in range(25):
        n, d = int(rng.integers(6, 61)), int(rng.integers(3, 30))
        X, Y = _tie_heavy(rng, kind, n, d), _tie_heavy(rng, kind, n, d + 3)
        expected = SCIPY[method](pdist(X, metric), pdist(Y, metric)).statistic
        if not np.isfinite(expected):
            continue
        assert fastrsa.rsa(X, Y, method=method, metric=metric) == pytest.approx(expected, abs=1e-10)
        if metric != "correlation":
            assert fastrsa.compare(fastrsa.rdm(X, metric), fastrsa.rdm(Y, metric), method) == pytest.approx(
                expected, abs=1e-10
            )
        compared += 1
    assert compared >= 20


def test_rank_scores_of_copied_rows_agree_with_scipy_in_blocks_too(rng, layout):
    X, Y = _tie_heavy(rng, "repeated", 70, 9), _tie_heavy(rng, "binary", 70, 11)
    for method in ("spearman", "kendall"):
        expected = SCIPY[method](pdist(X, "cosine"), pdist(Y, "cosine")).statistic
        assert fastrsa.rsa(X, Y, method=method) == pytest.approx(expected, abs=1e-10)


def test_inference_takes_the_same_ties(rng):
    X, Y = _tie_heavy(rng, "repeated", 40, 6), _tie_heavy(rng, "binary", 40, 8)
    expected = spearmanr(pdist(X, "cosine"), pdist(Y, "cosine")).statistic
    assert fastrsa.permutation_test(X, Y, method="spearman", permutations=9, seed=0).statistic == pytest.approx(
        expected, abs=1e-10
    )
    assert fastrsa.bootstrap_ci(X, Y, method="spearman", n_boot=9, seed=0).statistic == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_correlation_of_two_dimensional_rows_is_exactly_plus_or_minus_one(rng, dtype):
    # Centred 2-d rows are +-(1, -1) times a number: every correlation is
    # +-1 exactly (SciPy's rounding leaves some a few ulps off).
    X = rng.standard_normal((30, 2)).astype(dtype)
    signs = np.sign(X[:, 0] - X[:, 1])
    i, j = np.triu_indices(30, 1)
    np.testing.assert_array_equal(fastrsa.rsm(X, "correlation"), (signs[i] * signs[j]).astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_representatives_find_every_copy_and_only_copies(rng, dtype):
    X, which = repeated_rows(rng, 50, 5, 12, dtype)
    X[3] = -0.0 * X[3]  # -0.0 and 0.0 differ in their bits: not copies of each other
    X[4] = 0.0 * X[4]
    representative, copies = representatives(X)
    first = {}
    expected = np.array([first.setdefault(row.tobytes(), k) for k, row in enumerate(X)])
    np.testing.assert_array_equal(representative, expected)
    np.testing.assert_array_equal(copies, np.flatnonzero(expected != np.arange(50)))
    assert representatives(np.unique(X, axis=0)) is None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("metric", METRICS)
def test_copies_searched_among_shared_keys_are_all_the_copies(rng, dtype, metric):
    # Rows that share a key without being copies: a row's elements in
    # another order have its length and sums.  The keyed search must find
    # exactly what hashing every row finds.
    from fastrsa._pairs import _copy_keys, _tile_rows, as_distances, copies_of

    base = rng.integers(-3, 4, (9, 6)).astype(dtype)
    unique = rng.integers(-40, 41, (6, 6)).astype(dtype)  # (keys no other row has)
    X = np.concatenate([base, base[:, ::-1], base[:4], np.ldexp(base[4:7], 2), base[:1, [1, 0, 2, 3, 4, 5]], unique])
    X = X[rng.permutation(X.shape[0])]
    X = X[np.abs(X).sum(axis=1) > 0]
    if metric == "correlation":
        X = X[np.ptp(X, axis=1) > 0]
    for Z in (X, X + rng.standard_normal(X.shape[1]).astype(dtype)):  # (integer and not)
        (rows, row_values, kind), _ = _tile_rows(np.ascontiguousarray(Z), metric, as_distances(Z, metric))
        keys = _copy_keys(rows, kind, row_values).reshape(rows.shape[0], -1)
        assert np.unique(keys, axis=0, return_counts=True)[1].min() == 1  # (the search skips some rows)
        keyed, full = copies_of(rows, kind, row_values), copies_of(rows, kind)
        assert full is not None
        for got, expected in zip(keyed, full):
            np.testing.assert_array_equal(got, expected)


def test_unify_copies_gives_each_pair_its_originals_value(rng):
    n = 6  # rows 2 and 5 copy row 0, row 4 copies row 1
    values = rng.standard_normal(n * (n - 1) // 2)
    self_values = np.arange(n) + 100.0
    out = values.copy()
    representative = np.array([0, 1, 0, 3, 1, 0])
    unify_copies(out, representative, np.array([2, 4, 5]), self_values)
    i, j = np.triu_indices(n, 1)
    for position, (a, b) in enumerate(zip(representative[i], representative[j])):
        if a == b:
            assert out[position] == self_values[a]
        else:
            original = np.flatnonzero((i == min(a, b)) & (j == max(a, b)))[0]
            assert out[position] == values[original]


def _exact_correlation_keys(X):
    """Each pair's correlation of integer rows as an exact key: its sign and
    the reduced fraction P^2 / (A_x A_y) (P = d x.y - s_x s_y, A = d |x|^2 - s^2)."""
    R = X.astype(np.int64)
    R = R * R.shape[1] - R.sum(axis=1, keepdims=True)  # d times the centred rows: integers
    gram = R @ R.T
    i, j = np.triu_indices(len(X), 1)
    keys = []
    for p, q in zip(i.tolist(), j.tolist()):
        top, bottom = int(gram[p, q]) ** 2, int(gram[p, p]) * int(gram[q, q])
        g = np.gcd(top, bottom) or 1
        keys.append((int(np.sign(gram[p, q])), top // g, bottom // g))
    return keys


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("features", ["binary", "counts"])
def test_integer_rows_with_equal_exact_correlations_get_equal_values(rng, layout, dtype, features):
    X = _tie_heavy(rng, features, 70, 6).astype(dtype)
    X[X.std(axis=1) == 0, 0] += 1  # no constant row
    values = fastrsa.rsm(X, "correlation")
    groups = {}
    for key, value in zip(_exact_correlation_keys(X), values):
        groups.setdefault(key, set()).add(value)
    assert all(len(group) == 1 for group in groups.values())
    assert len(groups) < 0.8 * values.size  # the data do tie
    np.testing.assert_allclose(values, 1 - pdist(X.astype(np.float64), "correlation"), rtol=0, atol=ELEMENT_TOL[dtype])


@pytest.mark.parametrize("method", ["spearman", "kendall"])
def test_rank_scores_of_integer_correlations_take_the_exact_ties(rng, method):
    # SciPy's centred products round each pair its own way, so its ranks
    # split some exact ties; the exact answer ranks the exact values.
    for _ in range(10):
        X, Y = _tie_heavy(rng, "binary", 40, 7), _tie_heavy(rng, "counts", 40, 5)
        X[X.std(axis=1) == 0, 0] += 1
        Y[Y.std(axis=1) == 0, 0] += 1
        exact = []
        for Z in (X, Y):
            keys = _exact_correlation_keys(Z)
            order = {key: rank for rank, key in enumerate(sorted(set(keys), key=lambda k: k[0] * k[1] / k[2]))}
            exact.append(np.array([order[key] for key in keys], float))
        expected = SCIPY[method](*exact).statistic
        assert fastrsa.rsa(X, Y, method=method, metric="correlation") == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("metric", ["cosine", "correlation"])
def test_power_of_two_multiples_of_rows_tie_as_in_scipy(rng, layout, dtype, metric):
    # x and 2**k x: SciPy's per-pair loops scale exactly, so their cosines
    # (and correlations) with any row are equal there; BLAS tiles round them
    # apart unless they are made equal.
    base = rng.standard_normal((12, 37))
    which = rng.integers(0, 12, 61)
    X = np.ldexp(base[which], rng.integers(-3, 4, 61)[:, None]).astype(dtype)
    assert_equal_rows_give_equal_pairs(fastrsa.rdm(X, metric), which)
    Y = rng.standard_normal((61, 5))
    expected = spearmanr(pdist(X.astype(np.float64), metric), pdist(Y, metric)).statistic
    if dtype == np.float64:
        assert fastrsa.rsa(X, Y, method="spearman", metric=metric) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean"])
def test_rows_differing_only_in_the_sign_of_a_zero_are_at_distance_zero(metric):
    """np.round leaves -0.0 and 0.0: such rows are equal in value, not copies bit for bit."""
    import scipy.stats
    from scipy.spatial.distance import pdist

    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((10, 4)), rng.standard_normal((10, 3))
    X[0, 2] = 0.0
    X[1] = X[0]
    X[1, 2] = -0.0
    assert fastrsa.rdm(X, metric)[0] == 0.0
    expected = scipy.stats.spearmanr(pdist(X, metric), pdist(Y, metric)).statistic
    assert abs(fastrsa.rsa(X, Y, method="spearman", metric=metric) - expected) < 1e-12
