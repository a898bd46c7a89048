"""nan_policy="raise" / "omit": compare and mantel leave out the pairs where
either vector is NaN, the functions of spaces the items with a NaN in either
space; each against fastrsa.reference and SciPy, and against the same call
on the input with those pairs or items removed beforehand."""

import warnings

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import kendalltau, pearsonr, spearmanr

import fastrsa
from tests.fuzz_cases import documented_resamples
from fastrsa import OmittedWarning, _tuning, api, reference, stats

from .helpers import DTYPES, correlated_spaces, route_of

SCIPY = {
    "pearson": lambda a, b: pearsonr(a, b).statistic,
    "spearman": lambda a, b: spearmanr(a, b).statistic,
    "kendall": lambda a, b: kendalltau(a, b).statistic,
}


def _quietly(call, *args, **kwargs):
    """``call(...)`` and the OmittedWarnings it issued."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call(*args, **kwargs)
    omitted = [w for w in caught if issubclass(w.category, OmittedWarning)]
    return result, omitted


def _no_warning(call, *args, **kwargs):
    """``call(...)``, failing if it issues an OmittedWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", OmittedWarning)
        return call(*args, **kwargs)


def _vectors(rng, n, dtype, where):
    """Condensed RDMs of n items with NaN at a few pairs of a, of b, or both."""
    X, Y = correlated_spaces(rng, n, 4, 6, dtype=dtype, noise=2.0)
    a, b = fastrsa.rdm(X), fastrsa.rdm(Y)
    pairs = a.size
    if where in ("a", "both"):
        a[rng.choice(pairs, pairs // 8, replace=False)] = np.nan
    if where in ("b", "both"):
        b[rng.choice(pairs, pairs // 6, replace=False)] = np.nan
    return a, b


def _permutations(n, count, seed):
    return np.concatenate(list(stats._permutations(n, count, np.random.SeedSequence(seed))))


def _spaces_with_nan(rng, n, dtype, rows_x=(3,), rows_y=(7, 11), d1=5, d2=7):
    X, Y = correlated_spaces(rng, n, d1, d2, dtype=dtype, noise=1.5)
    for row in rows_x:
        X[row, row % X.shape[1]] = np.nan
    for row in rows_y:
        Y[row, 0] = np.nan
    keep = np.ones(n, bool)
    keep[list(rows_x) + list(rows_y)] = False
    return X, Y, keep


# The keyword --------------------------------------------------------------

X0, Y0 = correlated_spaces(np.random.default_rng(1), 12, 3, 4)
A0, B0 = fastrsa.rdm(X0), fastrsa.rdm(Y0)
CALLS = ["bootstrap_ci", "compare", "mantel", "permutation_test", "rsa", "split_half"]


def _call(call, a=A0, X=X0, **kwargs):
    """One public function on small clean data (or the a or X given)."""
    if call == "compare":
        return fastrsa.compare(a, B0, **kwargs)
    if call == "mantel":
        return fastrsa.mantel(a, B0, permutations=19, seed=0, keep_null=True, **kwargs)
    if call == "split_half":
        return fastrsa.split_half(np.hstack([X, Y0]), **kwargs)
    if call == "rsa":
        return fastrsa.rsa(X, Y0, **kwargs)
    if call == "permutation_test":
        return fastrsa.permutation_test(X, Y0, permutations=19, seed=0, keep_null=True, **kwargs)
    return fastrsa.bootstrap_ci(X, Y0, n_boot=19, seed=0, **kwargs)


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("bad", ["propagate", "Omit", None, True, 0])
def test_an_unknown_nan_policy_is_named(call, bad):
    with pytest.raises(ValueError, match=r"nan_policy=.* is not supported; use one of 'raise', 'omit'"):
        _call(call, nan_policy=bad)


def test_the_policy_is_checked_before_the_data():
    # Bad data too: the keyword's error comes first, before anything is computed.
    with pytest.raises(ValueError, match="nan_policy"):
        fastrsa.compare([1.0, np.nan], [1.0], nan_policy="drop")
    with pytest.raises(ValueError, match="nan_policy"):
        fastrsa.rsa([[np.nan]], [[1.0]], nan_policy="drop")


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("policy", [None, "raise"])
def test_raise_refuses_nan_and_names_where(call, policy):
    kwargs = {} if policy is None else {"nan_policy": policy}
    a, X = A0.copy(), X0.copy()
    a[5], X[4, 1] = np.nan, np.nan
    if call in ("compare", "mantel"):
        with pytest.raises(ValueError, match=r"^a contains NaN or inf \(first at index 5\)"):
            _call(call, a=a, **kwargs)
    else:
        with pytest.raises(ValueError, match=r"^X contains NaN or inf \(first at row 4, column 1\)"):
            _call(call, X=X, **kwargs)


@pytest.mark.parametrize("call", CALLS)
def test_omit_without_nan_is_todays_result_bit_for_bit_and_silent(call):
    today = _call(call)
    omitting = _no_warning(_call, call, nan_policy="omit")
    if isinstance(today, float):
        assert omitting == today
        return
    for name in ("statistic", "pvalue", "low", "high"):
        assert getattr(omitting, name, None) == getattr(today, name, None)
    for name in ("null", "distribution"):
        if getattr(today, name, None) is not None:
            assert np.array_equal(getattr(omitting, name), getattr(today, name))
    assert omitting.omitted_items.dtype == np.int64 and omitting.omitted_items.size == 0
    if hasattr(omitting, "omitted_pairs"):
        assert omitting.omitted_pairs == 0


def test_nan_policy_keeps_the_inputs_unchanged(rng):
    a, b = _vectors(rng, 10, np.float64, "both")
    X, Y, _ = _spaces_with_nan(rng, 15, np.float32)
    copies = [v.copy() for v in (a, b, X, Y)]
    _quietly(fastrsa.mantel, a, b, "spearman", permutations=9, nan_policy="omit")
    _quietly(fastrsa.bootstrap_ci, X, Y, n_boot=9, nan_policy="omit")
    for before, after in zip(copies, (a, b, X, Y)):
        np.testing.assert_array_equal(before, after)


# compare ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall", "tau-a"])
@pytest.mark.parametrize("where", ["a", "b", "both"])
def test_compare_omits_the_pairs_where_either_is_nan(rng, dtype, method, where):
    a, b = _vectors(rng, 20, dtype, where)
    keep = ~(np.isnan(a) | np.isnan(b))
    got, caught = _quietly(fastrsa.compare, a, b, method, nan_policy="omit")
    assert isinstance(got, float)
    assert got == fastrsa.compare(a[keep], b[keep], method)  # bit for bit
    assert got == pytest.approx(reference.compare(a, b, method, nan_policy="omit"), abs=1e-12)
    if method in SCIPY:  # float32 values are exact in float64: the same numbers
        expected = SCIPY[method](a[keep].astype(np.float64), b[keep].astype(np.float64))
        assert got == pytest.approx(expected, abs=1e-12)
    assert len(caught) == 1
    assert str(caught[0].message) == f"omitted {np.count_nonzero(~keep)} of 190 pairs where a or b is NaN"
    assert caught[0].filename == __file__  # points at the caller, not into fastrsa


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.tuples(st.integers(-3, 3) | st.none(), st.integers(-3, 3) | st.none()), min_size=2, max_size=40
    ),
    method=st.sampled_from(["pearson", "spearman", "kendall", "tau-a"]),
)
def test_compare_omit_property_matches_reference(values, method):
    a, b = (np.array([np.nan if v is None else v for v in column], dtype=np.float64) for column in zip(*values))
    keep = ~(np.isnan(a) | np.isnan(b))
    if keep.sum() < 2 or np.ptp(a[keep]) == 0 or np.ptp(b[keep]) == 0:
        # With a NaN the message says what was left; without, it is today's.
        with pytest.raises(ValueError, match="where neither" if np.isnan(a + b).any() else "zero variance"):
            _quietly(fastrsa.compare, a, b, method, nan_policy="omit")
        return
    got, _ = _quietly(fastrsa.compare, a, b, method, nan_policy="omit")
    assert got == pytest.approx(reference.compare(a, b, method, nan_policy="omit"), abs=1e-12)


def test_the_count_is_written_with_thousands_separators(rng):
    a, b = rng.standard_normal(4950), rng.standard_normal(4950)
    a[:12] = np.nan
    _, caught = _quietly(fastrsa.compare, a, b, nan_policy="omit")
    assert str(caught[0].message) == "omitted 12 of 4,950 pairs where a or b is NaN"


@pytest.mark.parametrize(
    "a, b, message",
    [
        (
            [np.nan] * 3,
            [1.0, 2.0, 3.0],
            r"a and b have 0 pairs where neither is NaN \(of 3\); a correlation needs at least 2",
        ),
        ([1.0, np.nan, 3.0], [1.0, 2.0, np.nan], r"a and b have 1 pair where neither is NaN \(of 3\)"),
        (
            [1.0, 1.0, 5.0, np.nan],
            [1.0, 2.0, np.nan, 4.0],
            r"^a \(over the 2 pairs where neither a nor b is NaN\) has zero variance \(all 2 values",
        ),
        (
            [1.0, np.inf, np.nan],
            [1.0, 2.0, 3.0],
            r"^a contains inf \(first at index 1\); nan_policy='omit' leaves out NaN only",
        ),
        ([1.0, 2.0, 3.0], [np.nan, 2.0, -np.inf], r"^b contains inf \(first at index 2\)"),
        ([1.0, np.inf, 3.0], [1.0, 2.0, 3.0], r"^a contains NaN or inf \(first at index 1\)"),  # no NaN: as ever
        ([1.0, np.nan, 3.0], [1.0, 2.0], r"a and b must have the same length: a.size == 3 while b.size == 2"),
    ],
    ids=["all-nan", "one-left", "constant-left", "inf", "inf-in-b", "inf-alone", "lengths"],
)
def test_compare_omit_refuses_what_is_left_when_it_cannot_correlate(a, b, message):
    with pytest.raises(ValueError, match=message):
        _quietly(fastrsa.compare, a, b, nan_policy="omit")


# rsa and split_half -------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
@pytest.mark.parametrize("metric", ["cosine", "correlation", "euclidean"])
def test_rsa_omits_the_items_with_a_nan_in_either_space(rng, dtype, method, metric):
    X, Y, keep = _spaces_with_nan(rng, 23, dtype)
    got, caught = _quietly(fastrsa.rsa, X, Y, method, metric, nan_policy="omit")
    assert got == fastrsa.rsa(X[keep], Y[keep], method, metric)  # bit for bit
    expected = reference.rsa(X.astype(np.float64), Y.astype(np.float64), method, metric, nan_policy="omit")
    assert got == pytest.approx(expected, abs=1e-5 if dtype == np.float32 else 1e-10)
    assert [str(w.message) for w in caught] == ["omitted 3 of 23 items where X or Y has a NaN (rows 3, 7, 11)"]


def test_rsa_omit_on_the_gram_path(rng):
    X, Y, keep = _spaces_with_nan(rng, 300, np.float64)
    assert route_of(X[keep], Y[keep], "pearson", "cosine") == api.GRAM
    got, _ = _quietly(fastrsa.rsa, X, Y, nan_policy="omit")
    assert got == fastrsa.rsa(X[keep], Y[keep])
    assert got == pytest.approx(reference.rsa(X, Y, nan_policy="omit"), abs=1e-10)


def test_the_warning_names_the_first_five_items(rng):
    X, Y, _ = _spaces_with_nan(rng, 30, np.float64, rows_x=(0, 2, 4, 20), rows_y=(8, 9, 25))
    _, caught = _quietly(fastrsa.rsa, X, Y, nan_policy="omit")
    assert str(caught[0].message) == "omitted 7 of 30 items where X or Y has a NaN (rows 0, 2, 4, 8, 9, …)"


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda X, Y: X.__setitem__((slice(0, 2), 0), np.nan),
            r"^X and Y have 1 item left of 3 after omitting those where X or Y has a NaN \(rows 0, 1\); "
            r"RSA needs at least 3",
        ),
        (lambda X, Y: Y.__setitem__((2, 1), np.nan), r"^X and Y have 2 items left of 3 .*\(row 2\)"),
        (lambda X, Y: (X.__setitem__(slice(None), np.nan)), r"^X and Y have 0 items left of 3"),
    ],
    ids=["one-left", "two-left", "all-nan"],
)
def test_rsa_omit_needs_three_items_left(change, message):
    X, Y = np.array([[1.0, 0], [0, 1], [1, 1]]), np.array([[1.0, 2], [2, 1], [3, 1]])
    change(X, Y)
    with pytest.raises(ValueError, match=message):
        fastrsa.rsa(X, Y, nan_policy="omit")


def test_rsa_omit_names_refused_rows_by_their_index_in_the_input(rng):
    X, Y = correlated_spaces(rng, 8, 3, 3)
    X[1, 0] = np.nan
    X[5] = 0.0
    with pytest.raises(ValueError, match=r"^X row 5 is all zeros"):
        fastrsa.rsa(X, Y, nan_policy="omit")
    X[5] = [1.0, 2.0, 4.0]
    Y[6] = 2.0
    with pytest.raises(ValueError, match=r"^Y row 6 is constant"):
        fastrsa.rsa(X, Y, metric="correlation", nan_policy="omit")
    Y[3, 2] = np.inf
    with pytest.raises(ValueError, match=r"^Y contains inf \(first at row 3, column 2\)"):
        fastrsa.rsa(X, Y, metric="euclidean", nan_policy="omit")
    with pytest.raises(ValueError, match=r"same number of rows"):
        fastrsa.rsa(X, Y[:7], nan_policy="omit")


@pytest.mark.parametrize("dtype", DTYPES)
def test_split_half_omits_the_items_with_a_nan(rng, dtype):
    X = rng.standard_normal((25, 8)).astype(dtype)
    X[[2, 19], [1, 6]] = np.nan
    keep = ~np.isnan(X).any(axis=1)
    got, caught = _quietly(fastrsa.split_half, X, "random", "spearman", seed=4, nan_policy="omit")
    assert got == fastrsa.split_half(X[keep], "random", "spearman", seed=4)
    expected = reference.split_half(X.astype(np.float64), "random", "spearman", seed=4, nan_policy="omit")
    assert got == pytest.approx(expected, abs=1e-5 if dtype == np.float32 else 1e-10)
    assert [str(w.message) for w in caught] == ["omitted 2 of 25 items where X has a NaN (rows 2, 19)"]


# mantel -----------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", ["pearson", "spearman"])
@pytest.mark.parametrize("where", ["a", "b", "both"])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_mantel_omit_matches_reference(rng, dtype, method, where, alternative):
    n = 13
    a, b = _vectors(rng, n, dtype, where)
    if method == "spearman":  # ties, to rank as rankdata does
        a, b = np.round(a, 1), np.round(b, 1)
    kwargs = {"permutations": 199, "alternative": alternative, "seed": 7, "keep_null": True}
    got, caught = _quietly(fastrsa.mantel, a, b, method, nan_policy="omit", **kwargs)
    statistic, pvalue, null = reference.mantel(a, b, method, _permutations(n, 199, 7), alternative, nan_policy="omit")
    compared, _ = _quietly(fastrsa.compare, a, b, method, nan_policy="omit")
    assert got.statistic == compared  # bit for bit
    assert got.statistic == pytest.approx(statistic, abs=1e-12)
    np.testing.assert_allclose(got.null, null, rtol=0, atol=1e-12)
    assert got.pvalue == pvalue
    omitted = int(np.count_nonzero(np.isnan(a) | np.isnan(b)))
    assert got.omitted_pairs == omitted and got.omitted_items.size == 0
    assert (got.permutations, got.alternative, got.method) == (199, alternative, method)
    assert [str(w.message) for w in caught] == [f"omitted {omitted} of {a.size} pairs where a or b is NaN"]


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_mantel_moves_each_item_with_its_missing_pairs(method):
    # Item 0's pairs are missing in b.  A permutation that brings item 0 to
    # position k leaves out k's pairs, not 0's: the count changes with p.
    n = 6
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(15), rng.standard_normal(15)
    b[: n - 1] = np.nan  # pairs (0, 1), ..., (0, 5)
    got, _ = _quietly(fastrsa.mantel, a, b, method, permutations=50, seed=2, keep_null=True, nan_policy="omit")
    permutations = _permutations(n, 50, 2)
    for p, value in zip(permutations, got.null):
        # Pairs (i, j) with p(i) and p(j) both not item 0: the valid ones.
        i, j = np.triu_indices(n, k=1)
        keep = (p[i] != 0) & (p[j] != 0)
        expected = SCIPY[method](a[keep], reference.permuted(b, p)[keep])
        assert value == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_mantel_permutations_without_a_statistic_are_left_out_of_the_pvalue(method):
    # 4 items, 6 pairs: a misses 3, b 2, so some permutations keep fewer
    # than 2 valid pairs (or 2 equal ones) and have no correlation.
    a = np.array([1.0, np.nan, 3.0, np.nan, np.nan, 2.0])
    b = np.array([2.0, 1.0, 5.0, 3.0, np.nan, np.nan])
    got, _ = _quietly(fastrsa.mantel, a, b, method, permutations=300, seed=1, keep_null=True, nan_policy="omit")
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, pvalue, null = reference.mantel(a, b, method, _permutations(4, 300, 1), nan_policy="omit")
    assert np.isnan(null).any() and not np.isnan(null).all()
    np.testing.assert_array_equal(np.isnan(got.null), np.isnan(null))
    np.testing.assert_allclose(got.null, null, rtol=0, atol=1e-12)
    assert got.pvalue == pvalue
    defined = np.count_nonzero(~np.isnan(null))
    assert got.pvalue * (defined + 1) == pytest.approx(round(got.pvalue * (defined + 1)))


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_masked_nulls_do_not_depend_on_the_thread_count(rng, method):
    a, b = _vectors(rng, 30, np.float64, "both")
    run = lambda: _quietly(  # noqa: E731
        fastrsa.mantel, a, b, method, permutations=150, seed=1, keep_null=True, nan_policy="omit"
    )[0].null
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        serial = run()
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        parallel = run()
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(serial, parallel)


def test_mantel_omit_with_n_3_and_the_edges():
    a, b = np.array([1.0, 2.0, np.nan]), np.array([3.0, 1.0, 2.0])
    got, _ = _quietly(fastrsa.mantel, a, b, permutations=20, seed=0, keep_null=True, nan_policy="omit")
    assert got.statistic == -1.0 and got.omitted_pairs == 1
    _, pvalue, null = reference.mantel(a, b, "pearson", _permutations(3, 20, 0), nan_policy="omit")
    np.testing.assert_allclose(got.null, null, rtol=0, atol=1e-12)
    assert got.pvalue == pvalue
    with pytest.raises(ValueError, match="1 pair where neither is NaN"):
        fastrsa.mantel([1.0, np.nan, 3.0], [1.0, 2.0, np.nan], nan_policy="omit")
    with pytest.raises(ValueError, match="0 pairs where neither is NaN"):
        fastrsa.mantel([np.nan] * 3, [1.0, 2.0, 3.0], nan_policy="omit")
    with pytest.raises(ValueError, match="not n\\(n - 1\\)/2"):
        fastrsa.mantel([1.0, np.nan, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], nan_policy="omit")
    with pytest.raises(ValueError, match="cover 2 items"):
        fastrsa.mantel([np.nan], [1.0], nan_policy="omit")
    with pytest.raises(ValueError, match="^b contains inf"):
        fastrsa.mantel([1.0, np.nan, 3.0], [1.0, np.inf, 3.0], nan_policy="omit")


# permutation_test and bootstrap_ci --------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "method, metric, n, d",
    [
        ("pearson", "cosine", 20, 30),
        ("pearson", "cosine", 300, 5),
        ("spearman", "correlation", 20, 5),
        ("pearson", "euclidean", 17, 5),
    ],
    ids=["pairs", "gram", "spearman", "euclidean"],
)
def test_permutation_test_omit_is_the_call_on_the_rows_left(rng, dtype, method, metric, n, d):
    X, Y, keep = _spaces_with_nan(rng, n, dtype, d1=d, d2=d + 2)
    if method == "pearson" and metric == "cosine":  # the Gram identity's null, or the pairs'
        by_gram = fastrsa._gram.flops(n - 3, d, d + 2) < _tuning.GATHER_COST * (n - 3) * (n - 4) // 2
        assert by_gram == (n == 300)
    got, caught = _quietly(
        fastrsa.permutation_test, X, Y, method, metric, permutations=99, seed=5, keep_null=True, nan_policy="omit"
    )
    expected = fastrsa.permutation_test(X[keep], Y[keep], method, metric, permutations=99, seed=5, keep_null=True)
    assert (got.statistic, got.pvalue) == (expected.statistic, expected.pvalue)
    assert np.array_equal(got.null, expected.null)
    assert got.statistic == _quietly(fastrsa.rsa, X, Y, method, metric, nan_policy="omit")[0]
    np.testing.assert_array_equal(got.omitted_items, [3, 7, 11])
    assert got.omitted_items.dtype == np.int64 and got.omitted_pairs == 0
    assert [str(w.message) for w in caught] == [f"omitted 3 of {n} items where X or Y has a NaN (rows 3, 7, 11)"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_bootstrap_omit_is_the_call_on_the_rows_left(rng, dtype, method):
    X, Y, keep = _spaces_with_nan(rng, 16, dtype)
    got, caught = _quietly(fastrsa.bootstrap_ci, X, Y, method, n_boot=80, seed=3, nan_policy="omit")
    expected = fastrsa.bootstrap_ci(X[keep], Y[keep], method, n_boot=80, seed=3)
    assert (got.statistic, got.low, got.high) == (expected.statistic, expected.low, expected.high)
    assert np.array_equal(got.distribution, expected.distribution)
    np.testing.assert_array_equal(got.omitted_items, [3, 7, 11])
    samples = documented_resamples(13, 80, 3)
    resampled = reference.bootstrap(X.astype(np.float64), Y.astype(np.float64), samples, method, nan_policy="omit")
    np.testing.assert_allclose(got.distribution, resampled, rtol=0, atol=1e-5 if dtype == np.float32 else 1e-12)
    assert len(caught) == 1 and caught[0].filename == __file__


def test_spaces_omit_too_few_items_left_for_the_resampling_functions(rng):
    X, Y = correlated_spaces(rng, 4, 3, 3)
    X[[0, 2], 0] = np.nan
    for call in (fastrsa.permutation_test, fastrsa.bootstrap_ci):
        with pytest.raises(ValueError, match=r"X and Y have 2 items left of 4 .*\(rows 0, 2\)"):
            call(X, Y, nan_policy="omit")


def test_omitted_warning_is_a_user_warning_exported_at_top_level():
    assert issubclass(fastrsa.OmittedWarning, UserWarning) and "OmittedWarning" in fastrsa.__all__


def test_results_still_compare_equal(rng):
    X, Y, _ = _spaces_with_nan(rng, 15, np.float64)
    first, _ = _quietly(fastrsa.permutation_test, X, Y, permutations=19, seed=2, nan_policy="omit")
    again, _ = _quietly(fastrsa.permutation_test, X, Y, permutations=19, seed=2, nan_policy="omit")
    assert first == again  # omitted_items (an array) is not part of ==
    boot = [_quietly(fastrsa.bootstrap_ci, X, Y, n_boot=9, seed=2, nan_policy="omit")[0] for _ in range(2)]
    assert boot[0].omitted_items.size == 3 and np.array_equal(boot[0].distribution, boot[1].distribution)


def test_mantel_omit_pearson_keeps_its_accuracy_with_outliers_where_b_is_missing(rng, monkeypatch):
    # a's large values sit only where b is missing: the valid pairs' mean is
    # far from the mean of all of a's values (centring by that mean cost the
    # observed value 2e-5).  Identity "permutations" give the observed value.
    a, b = _vectors(rng, 40, np.float64, "b")
    a = a + 1e-3 * rng.standard_normal(a.size)
    a[np.isnan(b)] = 1e6
    identities = lambda n, count, rng: iter([np.tile(np.arange(n, dtype=np.uint32), (count, 1))])  # noqa: E731
    monkeypatch.setattr(stats, "_permutations", identities)
    got, _ = _quietly(fastrsa.mantel, a, b, permutations=3, keep_null=True, nan_policy="omit")
    np.testing.assert_allclose(got.null, got.statistic, rtol=0, atol=1e-14)
    assert got.pvalue == 1.0
