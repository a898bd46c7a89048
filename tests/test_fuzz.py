"""Fuzz properties: every public function against SciPy on hostile input (issue 17).

Each property draws a case (tests/fuzz_cases.py: shapes, dtypes, layouts and
adversarial values) and asserts one of two outcomes:

- a ValueError whose message names an argument, where the input is outside
  what the docs accept (zero rows for cosine, constant rows for correlation,
  similarities that do not vary, results too large for float64) or outside
  fuzz_cases.SAFE_MAGNITUDE, where refusing "naming the value range" is
  allowed instead of computing scaled;
- or a finite result of the documented dtype and shape that agrees with
  SciPy within the documented tolerance (tests/helpers.py), plus what the
  input's own conditioning makes unavoidable (see fuzz_cases).

No other exception, no NaN or inf, and no input changed (fingerprints of
bytes, shape and strides before and after).  Rank methods on tie-heavy data
must agree with SciPy's pdist as it is, or with the same values where exact
ties (equal rows; equal exact integer cosines) are made exact.

The number of examples per property is one setting, FASTRSA_FUZZ_EXAMPLES
(default 12, sized for CI); ``python -m tests.fuzz --seconds 600`` runs the
same properties for a time budget with fresh examples.
"""

import os
import re

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from scipy.spatial.distance import squareform

import fastrsa

from . import fuzz_cases as fc

EXAMPLES = int(os.environ.get("FASTRSA_FUZZ_EXAMPLES", "12"))
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # No "explain" phase: its report of covered lines is noise here.
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

REFUSED = object()
# How a refusal of magnitudes names the value range (issue 17, section 3).
RANGE_WORDS = re.compile(r"range|magnitude|too (large|small)|overflow|underflow|\de[+-]?\d", re.I)


class Call:
    """One call of a public function: its inputs fingerprinted before and
    after, its outcome checked against what the case allows."""

    def __init__(self, function, arrays, names, **keywords):
        self.function, self.arrays, self.names, self.keywords = function, arrays, names, keywords

    def __call__(self, refuse):
        """``refuse``: "must" (a ValueError is required), "may", "range"
        (only for values out of range, saying so) or "never"."""
        before = [fc.fingerprint(a) for a in self.arrays]
        try:
            result = self.function(*self.arrays, **self.keywords)
        except ValueError as error:
            result = REFUSED
            message = str(error)
            assert fc.names_one_of(message, self.names), f"ValueError naming none of {self.names}: {message}"
            assert refuse != "never", f"refused input it must compute: {message}"
            if refuse == "range":
                assert RANGE_WORDS.search(message), f"refused values it could scale, not naming their range: {message}"
        after = [fc.fingerprint(a) for a in self.arrays]
        assert before == after, "an input array was modified"
        if result is not REFUSED:
            assert refuse != "must", f"returned {result!r} where a ValueError naming the argument is required"
        return result


def space_refusal(X64, metric):
    """"must" for rows the metric cannot take, "range" outside the safe
    magnitudes, else "never"."""
    if metric == "cosine" and (~X64.any(axis=1)).any():
        return "must"
    if metric == "correlation" and (X64.min(axis=1) == X64.max(axis=1)).any():
        return "must"
    return "never" if fc.in_safe_range(X64) else "range"


def combined(*refusals):
    for level in ("must", "may", "range"):
        if level in refusals:
            return level
    return "never"


def assert_score(got, want, tol, what):
    assert isinstance(got, float), f"{what}: {type(got).__name__}, not a Python float"
    assert np.isfinite(got) and -1 <= got <= 1, f"{what}: {got!r} is not a correlation"
    assert abs(got - want) <= tol, f"{what}: {got!r}, SciPy {want!r} (|diff| {abs(got - want):.3g} > tol {tol:.3g})"


# Pairs: rsm and rdm -------------------------------------------------------------


def required_tie_groups(X64, integer_input, metric):
    """Pairs that must be bitwise equal (issue 17, section 2): pairs of the
    same two rows (bitwise-equal rows), and on integer input with cosine,
    pairs with the same exact (x.y, |x|^2, |y|^2)."""
    i, j = np.triu_indices(len(X64), k=1)
    labels = fc.row_classes(X64)
    keys = [(min(a, b), max(a, b)) for a, b in zip(labels[i], labels[j])]
    if integer_input and metric == "cosine" and fc.exact_integer_rows(X64):
        R = X64.astype(np.int64)
        gram = R @ R.T  # exact: |values| <= 2**20, at most 40 columns
        norms = np.diag(gram)
        keys = list(zip(gram[i, j], np.minimum(norms[i], norms[j]), np.maximum(norms[i], norms[j])))
    _, groups = np.unique(np.array(keys), axis=0, return_inverse=True)
    return groups.ravel()


def assert_ties_kept(got, groups, what):
    order = np.argsort(groups, kind="stable")
    g, v = groups[order], got[order]
    same = g[1:] == g[:-1]
    broken = same & (v[1:] != v[:-1])
    if broken.any():
        t = int(np.argmax(broken))
        raise AssertionError(
            f"{what}: {int(broken.sum())} pairs that must tie do not, e.g. pairs {order[t]} and "
            f"{order[t + 1]}: {v[t]!r} != {v[t + 1]!r}"
        )


def check_pairs(space, metric, similarity):
    """rsm (``similarity``) or rdm of one space."""
    X = space.array()
    X64 = np.asarray(X, dtype=np.float64)
    dtype = fc.floats(X)
    want = fc.pair_oracle(X64, metric)
    refuse = space_refusal(X64, metric)
    if not np.isfinite(want).all():  # a distance too large for float64
        refuse = "must" if np.isinf(want).any() else refuse
    function = fastrsa.rsm if similarity else fastrsa.rdm
    got = Call(function, [X], ("X", "metric"), metric=metric)(refuse)
    if got is REFUSED:
        return
    n = len(X64)
    euclidean = metric not in fc.SIMILARITY_METRICS
    assert isinstance(got, np.ndarray) and got.shape == (n * (n - 1) // 2,)
    assert got.dtype == (np.float64 if euclidean else np.dtype(dtype)), f"dtype {got.dtype} for {X.dtype} input"
    assert np.isfinite(got).all(), "NaN or inf in the result"
    if euclidean:
        assert (got >= 0).all()
        close = fc.euclidean_close(got, want, dtype)
    else:
        low, high = (-1, 1) if similarity else (0, 2)
        outside = (got < low) | (got > high)
        assert not outside.any(), f"values outside [{low}, {high}]: {got[outside][:3]}"
        reference = 1 - want if similarity else want
        close = np.abs(got - reference) <= fc.element_tolerance(X64, dtype, metric)
    if not close.all():
        t = int(np.argmin(close))
        truth = (1 - want[t]) if similarity and not euclidean else want[t]
        raise AssertionError(f"pair {t}: {got[t]!r}, SciPy {truth!r}")
    assert_ties_kept(got, required_tie_groups(X64, X.dtype.kind in "iu", metric), f"{metric} pairs")


@fuzz
@given(space=fc.spaces(), metric=st.sampled_from(fc.SIMILARITY_METRICS))
def test_rsm(space, metric):
    check_pairs(space, metric, similarity=True)


@fuzz
@given(space=fc.spaces(), metric=st.sampled_from(fc.DISTANCE_METRICS))
def test_rdm(space, metric):
    check_pairs(space, metric, similarity=False)


@fuzz
@given(space=fc.spaces())
def test_normalize_rows(space):
    X = space.array()
    X64 = np.asarray(X, dtype=np.float64)
    got = Call(fastrsa.normalize_rows, [X], ("X",))(space_refusal(X64, "cosine"))
    if got is REFUSED:
        return
    dtype = fc.floats(X)
    assert got.shape == X.shape and got.dtype == np.dtype(dtype), f"{got.dtype} {got.shape} for {X.dtype} {X.shape}"
    scaled = fc.row_scaled(X64)
    want = scaled / np.linalg.norm(scaled, axis=1, keepdims=True)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=0, atol=fc.ELEMENT_TOL[dtype])


# Scores: rsa, compare, split_half ---------------------------------------------


def score_dtype(*arrays):
    return np.float32 if any(fc.floats(a) == np.float32 for a in arrays) else np.float64


def pair_vectors(X64s, metric, dtype):
    """Per space: the oracle's condensed vector (of the space at a scale
    where its distances fit in float64), its exact-tie twin, and its
    relative error (fuzz_cases.pair_errors)."""
    out = []
    for X64 in X64s:
        if metric not in fc.SIMILARITY_METRICS and not fc.in_safe_range(X64):
            # The scores do not see the scale; the distances then fit.  (Only
            # where SciPy's own would not: pair_oracle's rescaled pairs sum in
            # another order than pdist, and make or break ties of their own.)
            X64 = fc.globally_scaled(X64)
        values = fc.pair_oracle(X64, metric)
        groups, exact = fc.exact_tie_groups(X64, metric)
        condition = float(fc.correlation_condition(X64).max()) if metric == "correlation" else 1.0
        error = fc.pair_errors(values, dtype, metric, condition)
        out.append((values, fc.with_exact_ties(values, groups, exact), error))
    return out


def vectors_refusal(pairs, metric, dtype):
    """"may" where the pairs of either space do not vary (SciPy's values or
    their exact-tie twin), else "never"."""
    constant = any(fc.may_refuse_pairs(v, metric, dtype) for vectors in pairs for v in vectors[:2])
    return "may" if constant else "never"


def assert_score_of_pairs(got, a, b, method, dtype, what, stored=(np.float64, np.float64)):
    """``got`` against SciPy's score of the pairs: as SciPy computes them,
    or (rank methods) with the exact ties made exact, or with the ties that
    the pairs' stored dtypes see (``stored``, per space: float32 similarities
    of float32 input are ranked as float32, docs/index.md)."""
    (values_a, exact_a, error_a), (values_b, exact_b, error_b) = a, b
    tol = fc.score_tolerance(method, (exact_a, exact_b), dtype, (error_a, error_b))
    want = fc.score_oracle(values_a, values_b, method)
    if method != "pearson" and abs(got - want) > tol:
        for x, y in candidate_pairs(a, b, stored):
            if abs(got - fc.score_oracle(x, y, method)) <= tol:
                return
    assert_score(got, want, tol, what)


def candidate_pairs(a, b, stored):
    """The pairs of vectors a rank score may be taken from: each space's
    pairs as SciPy has them, or their exact-tie twin, or either as its stored
    dtype rounds it (float32 cosines and correlations are ranked as
    similarities, 1 - distance, negated here to keep the order), in any
    combination: one space may tie exactly where the other keeps SciPy's
    values."""
    sides = []
    for (values, exact, _), dtype_stored in zip((a, b), stored):
        options = [values, exact]
        if np.float32 in stored:
            options += [-(1 - v) for v in (values, exact)]
        if dtype_stored == np.float32:
            options += [v.astype(np.float32).astype(np.float64) for v in (values, exact)]
            options += [-((1 - v).astype(np.float32).astype(np.float64)) for v in (values, exact)]
        sides.append(options)
    return [(x, y) for x in sides[0] for y in sides[1]]


def stored_dtypes(arrays, metric):
    """The dtype each space's condensed vector is stored in."""
    if metric not in fc.SIMILARITY_METRICS:
        return tuple(np.float64 for _ in arrays)
    return tuple(fc.floats(x) for x in arrays)


@fuzz
@given(spaces=fc.space_pairs(), method=st.sampled_from(fc.METHODS), metric=st.sampled_from(fc.DISTANCE_METRICS))
def test_rsa(spaces, method, metric):
    X, Y = (s.array() for s in spaces)
    X64, Y64 = (np.asarray(a, np.float64) for a in (X, Y))
    dtype = score_dtype(X, Y)
    a, b = pair_vectors((X64, Y64), metric, dtype)
    refuse = combined(space_refusal(X64, metric), space_refusal(Y64, metric))
    if refuse != "must":
        refuse = combined(refuse, vectors_refusal((a, b), metric, dtype))
    got = Call(fastrsa.rsa, [X, Y], ("X", "Y", "method", "metric"), method=method, metric=metric)(refuse)
    if got is not REFUSED:
        assert_score_of_pairs(got, a, b, method, dtype, f"rsa(method={method!r}, metric={metric!r})", stored_dtypes((X, Y), metric))


@fuzz
@given(vectors=fc.vector_pairs(), method=st.sampled_from(fc.METHODS))
def test_compare(vectors, method):
    a, b = (v.array() for v in vectors)
    a64, b64 = (np.asarray(v, np.float64) for v in (a, b))
    dtype = score_dtype(a, b)
    refuse = combined(
        "never" if fc.in_safe_range(a64) and fc.in_safe_range(b64) else "range",
        "may" if any(fc.may_refuse_as_constant(v, fc.floats(x)) for v, x in ((a64, a), (b64, b))) else "never",
    )
    got = Call(fastrsa.compare, [a, b], ("a", "b", "method"), method=method)(refuse)
    if got is REFUSED:
        return
    errors = [16 * fc.EPS[np.float64]] * 2  # exact inputs: only the statistic's own rounding
    tol = fc.score_tolerance(method, (a64, b64), dtype, errors) if method == "pearson" else fc.SCORE_TOL[dtype]
    assert_score(got, fc.score_oracle(a64, b64, method), tol, f"compare(method={method!r})")


@fuzz
@given(
    space=fc.spaces(d=st.integers(1, 40)),
    split=st.sampled_from(("even-odd", "halves", "random")),
    method=st.sampled_from(fc.METHODS),
    metric=st.sampled_from(fc.DISTANCE_METRICS),
    seed=st.integers(0, 2**32 - 1),
)
def test_split_half(space, split, method, metric, seed):
    X = space.array()
    X64 = np.asarray(X, np.float64)
    d = X64.shape[1]
    keywords = dict(split=split, method=method, metric=metric, seed=seed)
    call = Call(fastrsa.split_half, [X], ("X", "split", "method", "metric", "seed"), **keywords)
    if d < 2:
        call("must")
        return
    if split == "even-odd":
        first, second = np.arange(0, d, 2), np.arange(1, d, 2)
    else:  # as documented: the first half of the columns, or of a permutation seeded by seed
        order = np.arange(d) if split == "halves" else np.random.default_rng(seed).permutation(d)
        first, second = order[: d // 2], order[d // 2 :]
    halves = X64[:, first], X64[:, second]
    dtype = score_dtype(X)
    a, b = pair_vectors(halves, metric, dtype)
    refuse = combined(*(space_refusal(h, metric) for h in halves))
    if refuse != "must":
        refuse = combined(refuse, vectors_refusal((a, b), metric, dtype))
    got = call(refuse)
    if got is not REFUSED:
        assert_score_of_pairs(got, a, b, method, dtype, f"split_half({split!r}, {method!r}, {metric!r})", stored_dtypes((X, X), metric))


# Inference: mantel, permutation_test, bootstrap_ci --------------------------------


def assert_null(result, permutations, a, b, method, dtype, seed, what, stored=(np.float64, np.float64)):
    """A PermutationResult's null and p-value against the oracle's null over
    the documented permutations of b (for the rank methods, each space's
    pairs as SciPy has them, their exact-tie twin, or as their stored dtype
    rounds them, as ``assert_score_of_pairs``)."""
    null = result.null
    assert isinstance(null, np.ndarray) and null.shape == (permutations,), f"{what}: null of {permutations}?"
    assert np.isfinite(null).all() and (np.abs(null) <= 1 + 1e-12).all(), f"{what}: null outside [-1, 1]"
    assert result.permutations == permutations
    n = fc.items_of(a[0].size)
    tol = fc.score_tolerance(method, (a[1], b[1]), dtype, (a[2], b[2]))
    want = np.empty(permutations)
    for k, p in enumerate(fc.documented_permutations(n, permutations, seed)):
        want[k] = fc.score_oracle(a[0], fc.permuted(b[0], p), method)
        if method != "pearson" and abs(null[k] - want[k]) > tol:
            for x, y in candidate_pairs(a, b, stored):
                candidate = fc.score_oracle(x, fc.permuted(y, p), method)
                if abs(null[k] - candidate) <= tol:
                    want[k] = candidate
    far = np.abs(null - want) > tol
    k = int(np.argmax(far))
    assert not far.any(), f"{what}: null[{k}] {null[k]!r}, SciPy {want[k]!r} (tol {tol:.3g})"
    # p = (k + 1) / (permutations + 1), k counted within the documented 1e-12.
    alternative, statistic = result.alternative, result.statistic
    extreme = {"greater": null >= statistic - 1e-12, "less": null <= statistic + 1e-12}
    k = np.count_nonzero(extreme.get(alternative, np.abs(null) >= abs(statistic) - 1e-12))
    edge = np.count_nonzero(np.abs(np.abs(null) - abs(statistic)) <= tol + 1e-12) if alternative == "two-sided" else (
        np.count_nonzero(np.abs(null - statistic) <= tol + 1e-12)
    )
    assert abs(result.pvalue - (k + 1) / (permutations + 1)) <= edge / (permutations + 1) + 1e-15, f"{what}: p-value"


@fuzz
@given(
    vectors=fc.vector_pairs(condensed=True),
    method=st.sampled_from(fc.RESAMPLE_METHODS),
    permutations=st.integers(1, 25),
    alternative=st.sampled_from(("two-sided", "greater", "less")),
    seed=st.integers(0, 2**32 - 1),
)
def test_mantel(vectors, method, permutations, alternative, seed):
    a, b = (v.array() for v in vectors)
    a64, b64 = (np.asarray(v, np.float64) for v in (a, b))
    dtype = score_dtype(a, b)
    refuse = combined(
        "never" if fc.in_safe_range(a64) and fc.in_safe_range(b64) else "range",
        "may" if any(fc.may_refuse_as_constant(v, fc.floats(x)) for v, x in ((a64, a), (b64, b))) else "never",
    )
    keywords = dict(method=method, permutations=permutations, alternative=alternative, seed=seed, keep_null=True)
    names = ("a", "b", "method", "permutations", "alternative", "seed")
    result = Call(fastrsa.mantel, [a, b], names, **keywords)(refuse)
    if result is REFUSED:
        return
    assert result.statistic == fastrsa.compare(a, b, method), "mantel's statistic is not compare's"
    error = 16 * fc.EPS[np.float64]
    vectors = [(v, v, error) for v in (a64, b64)]  # compare's inputs are exact: no ties to make exact
    tol = fc.score_tolerance(method, (a64, b64), dtype, (error, error)) if method == "pearson" else fc.SCORE_TOL[dtype]
    assert_score(result.statistic, fc.score_oracle(a64, b64, method), tol, "mantel statistic")
    assert_null(result, permutations, *vectors, method, dtype, seed, "mantel")


def small_space_pairs():
    return fc.space_pairs(n=st.integers(3, 40))


def inference_refusal(X64, Y64, metric, a, b, dtype):
    refuse = combined(space_refusal(X64, metric), space_refusal(Y64, metric))
    return refuse if refuse == "must" else combined(refuse, vectors_refusal((a, b), metric, dtype))


@fuzz
@given(
    spaces=small_space_pairs(),
    method=st.sampled_from(fc.RESAMPLE_METHODS),
    metric=st.sampled_from(fc.DISTANCE_METRICS),
    permutations=st.integers(1, 20),
    alternative=st.sampled_from(("two-sided", "greater", "less")),
    seed=st.integers(0, 2**32 - 1),
)
def test_permutation_test(spaces, method, metric, permutations, alternative, seed):
    X, Y = (s.array() for s in spaces)
    X64, Y64 = (np.asarray(v, np.float64) for v in (X, Y))
    dtype = score_dtype(X, Y)
    a, b = pair_vectors((X64, Y64), metric, dtype)
    keywords = dict(
        method=method, metric=metric, permutations=permutations, alternative=alternative, seed=seed, keep_null=True
    )
    names = ("X", "Y", "method", "metric", "permutations", "alternative", "seed")
    result = Call(fastrsa.permutation_test, [X, Y], names, **keywords)(inference_refusal(X64, Y64, metric, a, b, dtype))
    if result is REFUSED:
        return
    assert result.statistic == fastrsa.rsa(X, Y, method, metric), "the statistic is not rsa()'s, bit for bit"
    assert_score_of_pairs(result.statistic, a, b, method, dtype, "permutation_test statistic", stored_dtypes((X, Y), metric))
    assert_null(result, permutations, a, b, method, dtype, seed, "permutation_test", stored_dtypes((X, Y), metric))


def bootstrap_oracle(a, b, method, n_boot, seed, dtype, errors, floor=0.0):
    """The documented bootstrap over the oracle's pairs: in each batch
    (``fc.documented_batches``), resamples of n items drawn by the batch's
    rng.integers(0, n) (the batch's size, then, from the same rng, one
    draw per round of redraws for its resamples with fewer than two varying
    pairs), each scored over the pairs of two different items drawn.
    Returns (scores, tolerances), or None where some resample's pairs vary
    only in their last bits, at their scale or at the metric's rounding
    ``floor`` (whether it is redrawn is then up to rounding, and every later
    draw with it) or 100 redraws do not suffice."""
    n = fc.items_of(a.size)
    square_a, square_b = squareform(a, checks=False), squareform(b, checks=False)
    peaks = [float(np.abs(v).max()) for v in (a, b)]

    def score(counts):
        s = np.repeat(np.arange(n), counts)
        i, j = np.triu_indices(s.size, k=1)
        keep = s[i] != s[j]
        x, y = square_a[s[i], s[j]][keep], square_b[s[i], s[j]][keep]
        if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
            return np.nan, np.nan
        if min(fc.relative_spread(x, floor), fc.relative_spread(y, floor)) <= 1e-8:
            raise ArithmeticError("ill-conditioned resample")
        # The errors are relative to each whole vector's largest value: a
        # resample's pairs may all lie far below it, and are then off by more
        # of their own magnitude.
        local = [e * peak / max(float(np.abs(v).max()), fc.TINY) for e, peak, v in zip(errors, peaks, (x, y))]
        return fc.score_oracle(x, y, method), fc.score_tolerance(method, (x, y), dtype, local)

    def draw(rng, count):
        return [score(np.bincount(r, minlength=n)) for r in rng.integers(0, n, size=(count, n))]

    batches = []
    try:
        for rng, size in fc.documented_batches(n, n_boot, seed):
            out = np.array(draw(rng, size))
            for _ in range(100):
                bad = np.flatnonzero(np.isnan(out[:, 0]))
                if bad.size == 0:
                    break
                out[bad] = draw(rng, bad.size)
            if np.isnan(out).any():
                return None
            batches.append(out)
    except ArithmeticError:
        return None
    out = np.concatenate(batches)
    return out[:, 0], out[:, 1]


@fuzz
@given(
    spaces=small_space_pairs(),
    method=st.sampled_from(fc.RESAMPLE_METHODS),
    metric=st.sampled_from(fc.DISTANCE_METRICS),
    n_boot=st.integers(1, 15),
    confidence=st.floats(0.05, 0.99),
    seed=st.integers(0, 2**32 - 1),
)
def test_bootstrap_ci(spaces, method, metric, n_boot, confidence, seed):
    X, Y = (s.array() for s in spaces)
    X64, Y64 = (np.asarray(v, np.float64) for v in (X, Y))
    dtype = score_dtype(X, Y)
    a, b = pair_vectors((X64, Y64), metric, dtype)
    refuse = inference_refusal(X64, Y64, metric, a, b, dtype)
    floor = 1.0 if metric in fc.SIMILARITY_METRICS else 0.0  # (pdist's 1 - cosine is rounded at the scale of 1)
    want = bootstrap_oracle(a[0], b[0], method, n_boot, seed, dtype, (a[2], b[2]), floor)
    if len(X64) <= 5:  # the documented "too few items": resamples keep failing
        refuse = combined(refuse, "may")
    keywords = dict(method=method, metric=metric, n_boot=n_boot, confidence=confidence, seed=seed)
    names = ("X", "Y", "method", "metric", "n_boot", "confidence", "seed")
    if want is None:  # no oracle: a refusal is allowed, a result is checked for what it must be
        refuse = combined(refuse, "may")
    result = Call(fastrsa.bootstrap_ci, [X, Y], names, **keywords)(refuse)
    if result is REFUSED:
        return
    assert result.statistic == fastrsa.rsa(X, Y, method, metric), "the statistic is not rsa()'s, bit for bit"
    got = result.distribution
    assert isinstance(got, np.ndarray) and got.shape == (n_boot,) and np.isfinite(got).all()
    assert (np.abs(got) <= 1 + 1e-12).all()
    low, high = np.quantile(got, [(1 - confidence) / 2, (1 + confidence) / 2])
    assert (result.low, result.high) == (float(low), float(high)), "not the percentile interval of the distribution"
    if want is not None:
        # SciPy's pairs, or (rank methods) any of the candidates the score
        # and the null accept (assert_score_of_pairs): the exact-tie twin, or
        # the ties the stored dtype sees, per space.  The candidate also
        # decides, as the kernel does, which resamples do not vary and are
        # drawn again, so each candidate is a whole oracle run.
        scores, tol = want
        far = np.abs(got - scores) > tol
        candidates = candidate_pairs(a, b, stored_dtypes((X, Y), metric)) if method != "pearson" else [(a[1], b[1])]
        for x, y in candidates:
            if not far.any():
                break
            other = bootstrap_oracle(x, y, method, n_boot, seed, dtype, (a[2], b[2]), floor)
            if other is not None:
                far &= ~(np.abs(got - other[0]) <= other[1])
        k = int(np.argmax(far))
        assert not far.any(), f"resample {k}: {got[k]!r}, SciPy {scores[k]!r} (tol {tol[k]:.3g})"


# Arguments: every bad one refused by name --------------------------------------

_GOOD = np.random.default_rng(0).standard_normal((8, 3))
_VECTOR = fastrsa.rsm(_GOOD)
_BAD = {
    "method": ["Pearson", "", None, 1, "kendal"],
    "metric": ["Cosine", None, "cityblock", 2],
    "split": ["odd-even", None, 0],
    "alternative": ["two_sided", None, 1],
    "permutations": [0, -1, 1.5, True, "10", None, 10**30],
    "n_boot": [0, -5, 2.5, False, "100", None],
    "confidence": [0, 1, 1.5, -0.1, "0.95", None, float("nan")],
    "seed": [-1, 1.5, "seed", [1, -2], object()],
    "nan_policy": ["propagate", "ignore", None, 1],
}
_CALLS = {
    "rsm": (fastrsa.rsm, [_GOOD], ("metric",)),
    "rdm": (fastrsa.rdm, [_GOOD], ("metric",)),
    "rsa": (fastrsa.rsa, [_GOOD, _GOOD + 1], ("method", "metric", "nan_policy")),
    "compare": (fastrsa.compare, [_VECTOR, _VECTOR[::-1]], ("method", "nan_policy")),
    "split_half": (fastrsa.split_half, [_GOOD], ("split", "method", "metric", "seed")),
    "mantel": (
        fastrsa.mantel,
        [_VECTOR, _VECTOR[::-1]],
        ("method", "permutations", "alternative", "seed", "nan_policy"),
    ),
    "permutation_test": (
        fastrsa.permutation_test,
        [_GOOD, _GOOD + 1],
        ("method", "metric", "permutations", "alternative", "seed", "nan_policy"),
    ),
    "bootstrap_ci": (
        fastrsa.bootstrap_ci,
        [_GOOD, _GOOD + 1],
        ("method", "metric", "n_boot", "confidence", "seed", "nan_policy"),
    ),
}


@st.composite
def bad_arguments(draw):
    name = draw(st.sampled_from(sorted(_CALLS)))
    argument = draw(st.sampled_from(_CALLS[name][2]))
    return name, argument, draw(st.sampled_from(_BAD[argument]))


@fuzz
@given(case=bad_arguments())
def test_bad_argument_is_refused_by_name(case):
    name, argument, value = case
    function, arrays, _ = _CALLS[name]
    keywords = {argument: value}
    if argument == "seed" and name == "split_half":
        keywords["split"] = "random"
    if name in ("mantel", "permutation_test") and argument != "permutations":
        keywords["permutations"] = 5
    if name == "bootstrap_ci" and argument != "n_boot":
        keywords["n_boot"] = 5
    Call(function, arrays, (argument,), **keywords)("must")


# nan_policy (issue 17, section 6) ------------------------------------------------


def omitted(a, b):
    keep = ~(np.isnan(a) | np.isnan(b))
    return a[keep], b[keep]


def score_of(result):
    """A score returned as a float, or as an object with .statistic."""
    return float(getattr(result, "statistic", result))


@fuzz
@given(case=fc.missing_pairs(condensed=False), method=st.sampled_from(fc.METHODS))
def test_compare_nan_policy(case, method):
    a, b = case.arrays()
    missing = bool(np.isnan(a).any() or np.isnan(b).any())
    Call(fastrsa.compare, [a, b], ("a", "b"), method=method, nan_policy="raise")("must" if missing else "may")
    kept_a, kept_b = omitted(a, b)
    constant = kept_a.size < 2 or any(fc.may_refuse_as_constant(v, np.float64) for v in (kept_a, kept_b))
    safe = fc.in_safe_range(kept_a) and fc.in_safe_range(kept_b)
    refuse = combined("may" if constant else "never", "never" if safe else "range")
    got = Call(fastrsa.compare, [a, b], ("a", "b", "nan_policy"), method=method, nan_policy="omit")(refuse)
    if got is REFUSED:
        return
    error = 16 * fc.EPS[np.float64]
    tol = fc.score_tolerance(method, (kept_a, kept_b), np.float64, (error, error)) if method == "pearson" else 1e-10
    want = fc.score_oracle(kept_a, kept_b, method)
    assert abs(score_of(got) - want) <= tol, f"omit: {score_of(got)!r}, SciPy on the kept pairs {want!r}"


@fuzz
@given(
    case=fc.missing_pairs(condensed=True),
    method=st.sampled_from(fc.RESAMPLE_METHODS),
    permutations=st.integers(1, 15),
    seed=st.integers(0, 2**32 - 1),
)
def test_mantel_nan_policy(case, method, permutations, seed):
    """Omitted pairs move with their items: each permuted statistic is the
    score over the pairs present in both a and the permuted b."""
    a, b = case.arrays()
    keywords = dict(method=method, permutations=permutations, seed=seed, keep_null=True, nan_policy="omit")
    kept_a, kept_b = omitted(a, b)
    constant = kept_a.size < 3 or any(fc.may_refuse_as_constant(v, np.float64) for v in (kept_a, kept_b))
    safe = fc.in_safe_range(kept_a) and fc.in_safe_range(kept_b)
    refuse = combined("may" if constant else "never", "never" if safe else "range")
    result = Call(fastrsa.mantel, [a, b], ("a", "b", "nan_policy"), **keywords)(refuse)
    if result is REFUSED:
        return
    want = fc.score_oracle(kept_a, kept_b, method)
    assert abs(result.statistic - want) <= 1e-8, f"omit statistic {result.statistic!r}, SciPy {want!r}"
    null = result.null
    assert null.shape == (permutations,)
    n = fc.items_of(a.size)
    for k, p in enumerate(fc.documented_permutations(n, permutations, seed)):
        x, y = omitted(a, fc.permuted(b, p))
        if x.size >= 2 and np.ptp(x) > 0 and np.ptp(y) > 0:
            want = fc.score_oracle(x, y, method)
            assert abs(null[k] - want) <= 1e-8, f"null[{k}] {null[k]!r}: not the score of the pairs present, {want!r}"
        elif x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
            # Too few pairs present, or one side constant: the statistic is
            # undefined, NaN in the null and not counted (docs/statistics.md).
            assert np.isnan(null[k]), f"null[{k}] {null[k]!r} where the permuted pairs leave no correlation"
    defined = ~np.isnan(null)
    extreme = np.count_nonzero(np.abs(null[defined]) >= abs(result.statistic) - 1e-12)
    assert result.pvalue == (extreme + 1) / (np.count_nonzero(defined) + 1)


@fuzz
@given(spaces=small_space_pairs(), seed=st.integers(0, 2**32 - 1), share=st.sampled_from((0.05, 0.3)))
def test_spaces_nan_policy(spaces, seed, share):
    """Items with a NaN in either space are left out: rsa, permutation_test
    and bootstrap_ci with nan_policy="omit" equal the same calls on the
    items present in both."""
    X, Y = (np.asarray(s.values(), np.float64) for s in spaces)
    rng = np.random.default_rng(seed)
    for M in (X, Y):
        M[rng.random(M.shape) < share / M.shape[1]] = np.nan
    keep = ~(np.isnan(X).any(axis=1) | np.isnan(Y).any(axis=1))
    missing = not keep.all()
    names = ("X", "Y", "nan_policy")
    Call(fastrsa.rsa, [X, Y], ("X", "Y"), nan_policy="raise")("must" if missing else "may")
    try:
        expected = fastrsa.rsa(X[keep], Y[keep])
    except ValueError:
        expected = REFUSED  # fewer than 3 items left, a zero row, ...
    got = Call(fastrsa.rsa, [X, Y], names, nan_policy="omit")("must" if expected is REFUSED else "never")
    if got is REFUSED:
        return
    assert score_of(got) == expected, "rsa(omit) is not rsa of the items present in both"
    test = Call(fastrsa.permutation_test, [X, Y], names, permutations=5, seed=seed, nan_policy="omit")("never")
    alone = fastrsa.permutation_test(X[keep], Y[keep], permutations=5, seed=seed)
    assert (test.statistic, test.pvalue) == (alone.statistic, alone.pvalue)
    if keep.sum() > 5:
        interval = Call(fastrsa.bootstrap_ci, [X, Y], names, n_boot=5, seed=seed, nan_policy="omit")("never")
        alone = fastrsa.bootstrap_ci(X[keep], Y[keep], n_boot=5, seed=seed)
        assert (interval.statistic, interval.low, interval.high) == (alone.statistic, alone.low, alone.high)


PROPERTIES = [
    test_normalize_rows,
    test_rsm,
    test_rdm,
    test_rsa,
    test_compare,
    test_split_half,
    test_mantel,
    test_permutation_test,
    test_bootstrap_ci,
    test_bad_argument_is_refused_by_name,
    test_compare_nan_policy,
    test_mantel_nan_policy,
    test_spaces_nan_policy,
]
