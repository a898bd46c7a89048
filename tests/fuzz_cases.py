"""Cases and oracles for the fuzz properties (tests/test_fuzz.py).

A case is a small frozen dataclass whose repr is its own reproducer:
``Space(family='repeated', n=7, d=3, dtype='>f4', layout='F', seed=5, items=2)
.array()`` builds the same array in any session.  The oracles compute the
truth from the case's float64 values with SciPy: ``pdist`` for pairs (on
rows rescaled by exact powers of two where SciPy itself would overflow),
``pearsonr``, ``spearmanr`` and ``kendalltau`` for scores.
"""

import hashlib
import math
import re
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from scipy.spatial.distance import pdist, squareform
from scipy.stats import kendalltau, pearsonr, spearmanr

from .helpers import ELEMENT_TOL, SCORE_TOL

SIMILARITY_METRICS = ("cosine", "correlation")
DISTANCE_METRICS = SIMILARITY_METRICS + ("euclidean", "sqeuclidean")
METHODS = ("pearson", "spearman", "kendall", "tau-a")
RESAMPLE_METHODS = ("pearson", "spearman")

FLOAT_DTYPES = ("float64", "float32", "float16", ">f8", ">f4")
INTEGER_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
LAYOUTS = ("C", "F", "rows-strided", "cols-strided", "reversed")
FAMILIES = (
    "normal",  # continuous, no ties
    "repeated",  # bitwise copies of a few rows
    "small-int",  # integers in [-2, 2]: tie-heavy
    "binary",  # 0/1 features, repeated items: model RDMs of categorical features
    "multiples",  # integer rows times integer factors: equal directions, exactly
    "scaled-copies",  # float rows times arbitrary factors: equal directions, up to rounding
    "near-constant",  # every row close to a constant (cosines near 1, tiny centred spread)
    "blocks",  # runs of equal values within each row
    "magnitude-rows",  # each row at its own scale, 1e-300 .. 1e300 in float64
    "magnitude-global",  # one scale for the whole matrix
    "huge-row",  # a finite row whose mean overflows: [1.7e308, 1.7e308, 0, 1, 2, ...]
)
# Values inside this range (and zero) must be computed; outside it a call may
# instead refuse them with a ValueError naming the argument (issue 17, section
# 3: "compute scaled, or refuse with a ValueError naming the value range").
# Squares and products of two such values are still normal float64 numbers.
SAFE_MAGNITUDE = (1e-100, 1e100)
EPS = {np.float32: float(np.finfo(np.float32).eps), np.float64: float(np.finfo(np.float64).eps)}
TINY = float(np.finfo(np.float64).tiny)

# Largest exponent (base 10) of the magnitude families, per input dtype.
_EXPONENT = {"f8": 300, "f4": 30, "f2": 3}
_INTEGER_DIGITS = {1: 2, 2: 4, 4: 9, 8: 18}


# Cases -------------------------------------------------------------------------


@dataclass(frozen=True)
class Space:
    """An (n, d) matrix of items: ``family`` decides the values, ``items`` the
    seed of which items repeat (two spaces with the same ``items`` repeat the
    same items), ``seed`` the values, ``layout`` the memory layout."""

    family: str
    n: int
    d: int
    dtype: str = "float64"
    layout: str = "C"
    seed: int = 0
    items: int = 0

    def values(self):
        """The matrix in ``dtype``, C-contiguous."""
        return _space_values(self)

    def array(self):
        """The matrix in ``dtype`` and ``layout``: what the call receives."""
        return with_layout(self.values(), self.layout)


@dataclass(frozen=True)
class Vector:
    """A 1-D vector of ``size`` values (a condensed vector of n items where
    ``size`` is n(n-1)/2); ``items`` plays the role it has in Space."""

    family: str
    size: int
    dtype: str = "float64"
    layout: str = "contiguous"
    seed: int = 0
    items: int = 0

    def values(self):
        return _vector_values(self)

    def array(self):
        values = self.values()
        if self.layout == "strided":
            big = np.zeros(2 * values.size, values.dtype)
            big[::2] = values
            return big[::2]
        if self.layout == "reversed":
            return values[::-1].copy()[::-1]
        return values


def _classes(n, items):
    """Which of k <= n distinct items each of n rows is (k drawn too)."""
    rng = np.random.default_rng(items)
    k = int(rng.integers(1, n + 1))
    return rng.integers(0, k, n), k


def _space_values(s):
    rng = np.random.default_rng(s.seed)
    n, d = s.n, s.d
    classes, k = _classes(n, s.items)
    dtype = np.dtype(s.dtype)
    family = s.family
    if family == "normal":
        V = rng.standard_normal((n, d))
    elif family == "repeated":
        V = rng.standard_normal((k, d))[classes]
    elif family == "small-int":
        V = rng.integers(-2, 3, (n, d)).astype(np.float64)
    elif family == "binary":
        V = rng.integers(0, 2, (k, d))[classes].astype(np.float64)
    elif family == "multiples":
        V = rng.integers(-3, 4, (k, d))[classes] * rng.integers(1, 6, n)[:, None].astype(np.float64)
    elif family == "scaled-copies":
        V = rng.standard_normal((k, d))[classes] * rng.uniform(0.1, 10, n)[:, None]
    elif family == "near-constant":
        centre = rng.uniform(-1e3, 1e3, (n, 1))
        spread = 10.0 ** -float(rng.integers(2, 9))
        V = centre * (1 + spread * rng.standard_normal((n, d)))
    elif family == "blocks":
        V = np.empty((n, d))
        for i in range(n):
            cuts = np.sort(rng.integers(0, d + 1, 2))
            V[i, : cuts[0]], V[i, cuts[0] : cuts[1]], V[i, cuts[1] :] = rng.integers(-2, 3, 3)
    elif family in ("magnitude-rows", "magnitude-global", "huge-row"):
        top = _magnitude_top(dtype)
        shape = (n, 1) if family == "magnitude-rows" else (1, 1)
        low = 0 if dtype.kind in "iu" else -top
        V = rng.standard_normal((n, d)) * 10.0 ** rng.uniform(low, top, shape)
        if family == "huge-row":
            big = np.finfo(dtype).max * 0.95 if dtype.kind == "f" else float(np.iinfo(dtype).max)
            V[int(rng.integers(0, n))] = np.resize([big, big, 0, 1, 2], d)
    else:
        raise ValueError(f"unknown family {family!r}")
    return _in_dtype(V, dtype)


def _magnitude_top(dtype):
    if dtype.kind == "f":
        return _EXPONENT[dtype.str[1:]]
    return _INTEGER_DIGITS[dtype.itemsize]


def _in_dtype(V, dtype, fix_zero_rows=True):
    """V converted to ``dtype``: integers rounded and clipped to its range
    (non-negative for unsigned), floats clipped to their finite range.  A
    row that becomes all zeros gets a 1 unless ``fix_zero_rows=False``."""
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if not np.array_equal(V, np.rint(V)):
            V = V * 3  # continuous families as small integers
        V = np.rint(V)
        if dtype.kind == "u":
            V = np.abs(V)
        # Clip inside the range as float64 sees it (2**63 - 1 rounds up).
        V = np.clip(V, max(float(info.min), -(2.0**62)), min(float(info.max), 2.0**62))
        out = V.astype(dtype)
    else:
        limit = float(np.finfo(dtype).max)
        out = np.clip(V, -limit, limit).astype(dtype)
    if fix_zero_rows:
        out[~out.any(axis=1), 0] = 1
    return out


def with_layout(A, layout):
    """A (C-contiguous) with the same values in another memory layout."""
    if layout == "C":
        return A
    if layout == "F":
        return np.asfortranarray(A)
    if layout == "rows-strided":
        big = np.zeros((2 * A.shape[0], A.shape[1]), A.dtype)
        big[::2] = A
        return big[::2]
    if layout == "cols-strided":
        big = np.zeros((A.shape[0], 2 * A.shape[1] + 1), A.dtype)
        big[:, 1::2] = A
        return big[:, 1::2]
    if layout == "reversed":
        return A[::-1, ::-1].copy()[::-1, ::-1]
    raise ValueError(f"unknown layout {layout!r}")


def _vector_values(v):
    rng = np.random.default_rng(v.seed)
    size = v.size
    dtype = np.dtype(v.dtype)
    family = v.family
    if family == "normal":
        V = rng.standard_normal(size)
    elif family == "small-int":
        V = rng.integers(-2, 3, size).astype(np.float64)
    elif family == "binary":
        V = rng.integers(0, 2, size).astype(np.float64)
    elif family == "blocks":
        V = np.repeat(rng.standard_normal(size), rng.integers(1, 6, size))[:size]
    elif family == "near-constant":
        V = rng.uniform(-1e3, 1e3) * (1 + 10.0 ** -float(rng.integers(2, 9)) * rng.standard_normal(size))
    elif family == "magnitude-global":
        top = _magnitude_top(dtype)
        V = rng.standard_normal(size) * 10.0 ** rng.uniform(0 if dtype.kind in "iu" else -top, top)
    elif family == "pairs":  # a condensed vector of similarities, from a tie-heavy space when items allow
        n = items_of(size)
        space_family = ("normal", "repeated", "binary", "small-int")[v.items % 4]
        V = pair_oracle(Space(space_family, n, 1 + v.seed % 7, seed=v.seed, items=v.items).values(), "cosine")
    else:
        raise ValueError(f"unknown family {family!r}")
    return _in_dtype(V[None], dtype, fix_zero_rows=False)[0]


def items_of(size):
    """n for a condensed vector of n(n - 1)/2 values (size must be one)."""
    n = int(round((1 + math.sqrt(1 + 8 * size)) / 2))
    assert n * (n - 1) // 2 == size
    return n


def spaces(n=st.integers(3, 70), d=st.integers(1, 40), dtypes=FLOAT_DTYPES + INTEGER_DTYPES, families=FAMILIES):
    """Spaces of every family, dtype and layout."""
    return st.builds(
        Space,
        family=st.sampled_from(families),
        n=n,
        d=d,
        dtype=st.sampled_from(dtypes),
        layout=st.sampled_from(LAYOUTS),
        seed=st.integers(0, 2**32 - 1),
        items=st.integers(0, 2**32 - 1),
    )


@st.composite
def space_pairs(draw, n=st.integers(3, 70)):
    """Two spaces over the same items.  Half the time they repeat the same
    items (``items`` shared), as a model RDM and data built from the same
    categories do."""
    x = draw(spaces(n=n))
    y = draw(spaces(n=st.just(x.n)))
    if draw(st.booleans()):
        y = Space(y.family, y.n, y.d, y.dtype, y.layout, y.seed, x.items)
    return x, y


VECTOR_FAMILIES = ("normal", "small-int", "binary", "blocks", "near-constant", "magnitude-global", "pairs")


@st.composite
def vector_pairs(draw, condensed=False):
    """Two equally long vectors; condensed (n(n-1)/2 values, n >= 3) if asked."""
    if condensed:
        n = draw(st.integers(3, 70))
        size = n * (n - 1) // 2
    else:
        size = draw(st.integers(2, 2500))
    pair = []
    for _ in range(2):
        family = draw(st.sampled_from(VECTOR_FAMILIES))
        if family == "pairs" and not condensed:
            family = "blocks"
        pair.append(
            Vector(
                family=family,
                size=size,
                dtype=draw(st.sampled_from(FLOAT_DTYPES + INTEGER_DTYPES)),
                layout=draw(st.sampled_from(("contiguous", "strided", "reversed"))),
                seed=draw(st.integers(0, 2**32 - 1)),
                items=draw(st.integers(0, 2**32 - 1)),
            )
        )
    return tuple(pair)


@dataclass(frozen=True)
class Missing:
    """Two vectors (Vector cases) with NaN at a ``share`` of the positions
    of each, the positions drawn from ``seed``."""

    a: Vector
    b: Vector
    share: float
    seed: int

    def arrays(self):
        rng = np.random.default_rng(self.seed)
        out = []
        for v in (self.a, self.b):
            values = np.asarray(v.values(), np.float64)
            values[rng.random(values.size) < self.share] = np.nan
            out.append(values)
        return out


@st.composite
def missing_pairs(draw, condensed):
    a, b = draw(vector_pairs(condensed=condensed))
    return Missing(a, b, draw(st.sampled_from((0.0, 0.05, 0.3))), draw(st.integers(0, 2**32 - 1)))


# Inputs never change -----------------------------------------------------------


def fingerprint(array):
    """Digest of an array's bytes, shape, strides and dtype (and of the
    buffer it is a view of, which a write through the view would change)."""
    h = hashlib.sha256()
    for a in (array, array.base if isinstance(array.base, np.ndarray) else None):
        if a is not None:
            h.update(repr((a.shape, a.strides, a.dtype.str, a.flags.writeable)).encode())
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


# How a refusal must read -------------------------------------------------------

_SHORT_NAME = r"(?=\s+(has|have|contains|is|are|must|and|row|column|values|covers)\b|\s*=|\[|'s\b)"


def names_one_of(message, names):
    """Whether ``message`` names one of the arguments in ``names`` (a
    one-letter name only where used as a name: "X has", "a and b", "Y row")."""
    for name in names:
        if len(name) <= 2:
            if re.search(rf"(?<![\w.]){re.escape(name)}{_SHORT_NAME}", message):
                return True
        elif re.search(rf"\b{re.escape(name)}\b", message):
            return True
    return False


# Oracles: pairs ----------------------------------------------------------------


def floats(values):
    """The values as the API computes with them: float32 stays float32
    (byte order aside), everything else becomes float64."""
    values = np.asarray(values)
    return np.float32 if values.dtype.kind == "f" and values.dtype.itemsize == 4 else np.float64


def row_scaled(X):
    """Every row times a power of two that brings its largest value into
    [0.5, 1): exact, and the cosines and correlations do not change."""
    peak = np.abs(X).max(axis=1)
    _, exponent = np.frexp(peak)
    return np.ldexp(X, -exponent[:, None])


def globally_scaled(X):
    """X times the power of two that brings its largest magnitude into
    [2**499, 2**500): exact, and no score sees it.  So high, not near 1, so
    that the squared distances of X's smallest rows do not underflow where its
    largest are 1e300 (squared distances of rows up to 2**500 in at most 40
    features stay below 2**1008)."""
    peak = float(np.abs(X).max())
    return np.ldexp(X, 500 - np.frexp(peak)[1]) if peak > 0 else X


def in_safe_range(values):
    magnitude = np.abs(np.asarray(values, dtype=np.float64))
    magnitude = magnitude[magnitude > 0]
    return magnitude.size == 0 or (magnitude.min() >= SAFE_MAGNITUDE[0] and magnitude.max() <= SAFE_MAGNITUDE[1])


def pair_oracle(X64, metric):
    """``pdist(X64, metric)``, with rows rescaled exactly where SciPy would
    overflow: per row for cosine and correlation (which do not see a row's
    scale), per pair for the Euclidean metrics (the result scaled back, so a
    distance too large for float64 is inf here)."""
    if metric in SIMILARITY_METRICS:
        return pdist(row_scaled(X64), metric)
    if in_safe_range(X64):
        return pdist(X64, metric)
    i, j = np.triu_indices(len(X64), k=1)
    _, exponent = np.frexp(np.abs(X64).max(axis=1))
    k = np.maximum(exponent[i], exponent[j])[:, None]
    with np.errstate(over="ignore", under="ignore"):
        squares = ((np.ldexp(X64[i], -k) - np.ldexp(X64[j], -k)) ** 2).sum(axis=1)
        if metric == "sqeuclidean":
            return np.ldexp(squares, 2 * k[:, 0])
        return np.ldexp(np.sqrt(squares), k[:, 0])


def correlation_condition(X64):
    """Per row, how many times larger the raw values are than their centred
    spread: rounding in the centring is amplified that much."""
    scaled = row_scaled(X64)
    spread = np.sqrt(((scaled - scaled.mean(axis=1, keepdims=True)) ** 2).mean(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):  # constant rows: refused before this matters
        return np.abs(scaled).max(axis=1) / spread


def element_tolerance(X64, dtype, metric):
    """Per pair, what a correct result may differ from SciPy's by: the
    documented ELEMENT_TOL (absolute for cosine and correlation), plus for
    correlation the rounding of centring, amplified by the rows' condition."""
    if metric in SIMILARITY_METRICS:
        tol = np.full(len(X64) * (len(X64) - 1) // 2, ELEMENT_TOL[dtype])
        if metric == "correlation":
            cond = correlation_condition(X64)
            i, j = np.triu_indices(len(X64), k=1)
            tol += 8 * EPS[np.float64] * (cond[i] + cond[j])
        return tol
    return None  # relative: see euclidean_close


def euclidean_close(got, want, dtype):
    """Relative 1e-10 (float32 input: 1e-6), and a last-bits slack at the
    bottom of the float64 range."""
    rtol = 1e-6 if dtype == np.float32 else 1e-10
    return np.abs(got - want) <= rtol * np.abs(want) + 4 * TINY


def row_classes(X64):
    """Which rows are equal: one label per distinct row."""
    _, labels = np.unique(X64, axis=0, return_inverse=True)
    return labels.ravel()


def exact_integer_rows(X64):
    return np.array_equal(X64, np.rint(X64)) and np.abs(X64).max() <= 2**20


def direction_classes(X64, metric):
    """Labels of rows whose pairs with any row are exact ties: equal rows;
    and where every similarity is exactly +-1 (cosine of 1-d rows,
    correlation of 2-d rows), rows of the same sign."""
    if metric == "cosine" and X64.shape[1] == 1:
        return np.sign(X64[:, 0]).astype(np.int64)
    if metric == "correlation" and X64.shape[1] == 2:
        return np.sign(X64[:, 0] - X64[:, 1]).astype(np.int64)
    return row_classes(X64)


def exact_tie_groups(X64, metric):
    """``(groups, exact)``: labels of pairs whose values are equal in exact
    arithmetic, where that can be decided (pairs of the same two
    direction_classes; for integer rows with cosine or correlation, equal
    exact cosines: sign and reduced dot**2 / (|x|**2 |y|**2), from exact
    integer sums), and the exact dissimilarity of the groups that have one
    (0 for similarity 1, 2 for similarity -1).  Other pairs get a group of
    their own."""
    n = len(X64)
    i, j = np.triu_indices(n, k=1)
    labels = direction_classes(X64, metric) if metric in SIMILARITY_METRICS else row_classes(X64)
    plus_minus_one = metric in SIMILARITY_METRICS and X64.shape[1] == (1 if metric == "cosine" else 2)
    integer = metric in SIMILARITY_METRICS and exact_integer_rows(X64)
    if integer:
        R = X64.astype(np.int64)
        if metric == "correlation":  # d * (x - mean) is an integer vector
            R = R * R.shape[1] - R.sum(axis=1, keepdims=True)
        gram = (R @ R.T).tolist()  # exact: |values| <= 2**20 (times d <= 40), at most 40 columns
    keys, exact = {}, {}
    groups = np.empty(i.size, np.int64)
    for t, (p, q) in enumerate(zip(i.tolist(), j.tolist())):
        value = None
        if labels[p] == labels[q]:
            key, value = "same", 0.0
        elif integer:
            dot, xx, yy = gram[p][q], gram[p][p], gram[q][q]
            top, bottom = dot * dot, xx * yy
            g = math.gcd(top, bottom) or 1
            key = (dot > 0, dot < 0, top // g, bottom // g)
            if top == bottom and dot != 0:
                value = 0.0 if dot > 0 else 2.0
        elif plus_minus_one:
            key, value = "opposite", 2.0
        else:
            key = (min(labels[p], labels[q]), max(labels[p], labels[q]))
        group = keys.setdefault(key, len(keys))
        groups[t] = group
        if value is not None:
            exact[group] = value
    return groups, exact


def with_exact_ties(values, groups, exact):
    """``values`` with every exact-tie group set to one value: its exact
    value where known, else its first member's."""
    first = np.full(groups.max() + 1, -1)
    first[groups[::-1]] = np.arange(groups.size)[::-1]
    out = values[first[groups]]
    for group, value in exact.items():
        out[groups == group] = value
    return out


# Oracles: scores ---------------------------------------------------------------


def unit_scaled(v):
    """v times a power of two that brings its largest magnitude into [0.5, 1)."""
    peak = np.abs(v).max()
    return np.ldexp(v, -np.frexp(peak)[1]) if peak > 0 else v


def score_oracle(a, b, method):
    """SciPy's score of two float64 vectors (rescaled exactly first, so that
    SciPy's own sums cannot overflow or underflow)."""
    a, b = unit_scaled(np.asarray(a, np.float64)), unit_scaled(np.asarray(b, np.float64))
    if method == "pearson":
        return float(pearsonr(a, b).statistic)
    if method == "spearman":
        return float(spearmanr(a, b).statistic)
    tau_b = float(kendalltau(a, b).statistic)
    if method == "kendall":
        return tau_b
    # tau-a = (concordant - discordant) / n0 = tau-b sqrt((n0 - n1)(n0 - n2)) / n0.
    n0 = a.size * (a.size - 1) / 2
    tied = [sum(c * (c - 1) / 2 for c in np.unique(v, return_counts=True)[1]) for v in (a, b)]
    return tau_b * math.sqrt((n0 - tied[0]) * (n0 - tied[1])) / n0


def relative_spread(v, floor=0.0):
    """Standard deviation over largest magnitude (or ``floor``, the scale
    the values are rounded at, where larger): how far a vector is from "all
    values equal up to rounding"."""
    v = np.asarray(v, np.float64)
    if floor:
        scale = max(float(np.abs(v).max()), floor)
        return float(np.std(v) / scale)
    v = unit_scaled(v)
    peak = np.abs(v).max()
    return float(np.std(v) / peak) if peak > 0 else 0.0


def may_refuse_as_constant(v, dtype):
    """Whether a call may refuse v as having zero variance: the documented
    "all values equal up to rounding" (16 eps of the dtype, with a margin of
    4 for the rounding of the check itself)."""
    return relative_spread(v) <= 64 * EPS[dtype]


def may_refuse_pairs(values, metric, dtype):
    """may_refuse_as_constant for a condensed vector of dissimilarities,
    judged on the similarities for cosine and correlation (1 - values:
    their rounding is relative to 1, not to the distances)."""
    return may_refuse_as_constant(1 - values if metric in SIMILARITY_METRICS else values, dtype)


def element_error(dtype, condition=1.0):
    """What one pair's value may be off by (the documented ELEMENT_TOL for
    float32; a few float64 roundings otherwise), times its conditioning."""
    return ELEMENT_TOL[np.float32] if dtype == np.float32 else 16 * EPS[np.float64] * condition


def near_tie_bound(values, gap):
    """How far a rank score may move when values closer than ``gap`` (but
    not equal) are ordered either way: sum over clusters of such values of
    their size squared, times 24 / M**2 (each member's rank moves by less
    than the cluster's size; see the derivation in the report of issue 17)."""
    v = np.sort(np.asarray(values, np.float64))
    scale = max(np.abs(v).max(), TINY)
    close = np.diff(v) <= gap * scale
    ambiguous = close & (np.diff(v) > 0)
    if not ambiguous.any():
        return 0.0
    total, size, mixed = 0.0, 1, False
    for is_close, is_ambiguous in zip(close, ambiguous):
        if is_close:
            size += 1
            mixed |= bool(is_ambiguous)
            continue
        total += size * size if mixed else 0
        size, mixed = 1, False
    total += size * size if mixed else 0
    return 24 * total / v.size**2


def score_tolerance(method, vectors, dtype, errors):
    """Tolerance of a score against the oracle's: SCORE_TOL of the dtype;
    for Pearson plus what the values' own errors (``errors``, one per
    vector, relative to the vector's largest magnitude) move it by, error /
    relative spread; for the rank methods plus the near-tie bound at twice
    that error."""
    tol = SCORE_TOL[dtype]
    for v, error in zip(vectors, errors):
        if method == "pearson":
            tol += error / max(relative_spread(v), TINY)
        else:
            tol += near_tie_bound(v, 2 * error)
    return tol


def pair_errors(values, dtype, metric, condition=1.0):
    """The relative error of a condensed vector of pairs: element_error in
    the units of cosine and correlation (absolute, so divided by the
    largest distance), relative for the Euclidean metrics."""
    error = element_error(dtype, condition)
    if metric in SIMILARITY_METRICS:
        return error / max(float(np.abs(values).max()), TINY)
    return 1e-6 if dtype == np.float32 else error


def permuted(b, permutation):
    """b's items relabelled: pair (i, j) takes the value of pair (p[i], p[j])."""
    square = squareform(np.asarray(b, np.float64), checks=False)
    return squareform(square[np.ix_(permutation, permutation)], checks=False)


def documented_batches(n, count, seed):
    """The batches docs/statistics.md describes: (generator, size) for each,
    of at most max(1, min(2**20 // n, max(128, ceil(count / 32)))) draws,
    batch k's generator default_rng of the k-th child that
    SeedSequence(seed).spawn makes."""
    per = max(1, min(2**20 // n, max(128, -(-count // 32))))
    sizes = [min(per, count - start) for start in range(0, count, per)]
    children = np.random.SeedSequence(seed).spawn(len(sizes))
    return [(np.random.default_rng(child), size) for child, size in zip(children, sizes)]


def documented_resamples(n, count, seed):
    """The items of the resamples docs/statistics.md describes (before any
    redraw): in each batch (``documented_batches``), the batch's
    rng.integers(0, n, size=(size, n))."""
    return np.concatenate([rng.integers(0, n, size=(size, n)) for rng, size in documented_batches(n, count, seed)])


def documented_permutations(n, count, seed):
    """The permutations docs/statistics.md describes: in each batch
    (``documented_batches``), a Fisher-Yates shuffle per permutation driven
    by n - 1 draws of the batch's rng.random(), position i (from n - 1
    down) swapped with floor(u (i + 1))."""
    out = np.empty((count, n), np.int64)
    k = 0
    for rng, size in documented_batches(n, count, seed):
        for _ in range(size):
            u = rng.random(n - 1)
            row = np.arange(n)
            for i in range(n - 1, 0, -1):
                j = min(int(u[n - 1 - i] * (i + 1)), i)
                row[i], row[j] = row[j], row[i]
            out[k] = row
            k += 1
    return out
