"""The results of the inference functions (``fastrsa.stats``).

They read like SciPy's: ``PermutationResult`` as the result of
``scipy.stats.permutation_test`` (``statistic``, ``pvalue``,
``null_distribution``), ``BootstrapResult`` as that of
``scipy.stats.bootstrap`` (``confidence_interval``, ``bootstrap_distribution``,
``standard_error``).  The SciPy names are properties over the fields, so the
fields, and with them equality, are as they were.  Each result's repr is a
line or a few of its key numbers, however long its arrays (which stay
whole in the attributes).
"""

import math
from collections import namedtuple
from dataclasses import dataclass, field

import numpy as np

from . import _missing

# As scipy.stats.bootstrap's (which SciPy does not export either): a tuple, so it unpacks.
ConfidenceInterval = namedtuple("ConfidenceInterval", ["low", "high"])
ConfidenceInterval.__doc__ = "A confidence interval: ``low``, ``high``; unpacks as ``low, high = interval``."


def _number(value):
    """A float of a repr: six significant digits."""
    return f"{value:.6g}"


def _values(array, noun="values"):
    """An array of a repr: how many values it holds, not the values."""
    return "None" if array is None else f"<{array.size:,} {noun}>"


def _interval(interval):
    return f"({_number(interval.low)}, {_number(interval.high)})"


def listing(names, limit=48):
    """Names of a repr: the first ones up to about ``limit`` characters
    (each cut to 20), then "…" for the rest."""
    shown, width = [], 0
    for name in names:
        name = str(name)
        name = name if len(name) <= 20 else name[:19] + "…"
        if shown and width + len(name) > limit:
            break
        shown.append(name)
        width += len(name) + 2
    return ", ".join(shown) + (", …" if len(shown) < len(names) else "")


def words(names):
    """The words of a repr: "9 words: the, quick, …", "1 word: fox", "0 words"."""
    count = f"{len(names):,} word{'' if len(names) == 1 else 's'}"
    return f"{count}: {listing(names)}" if len(names) else count


def counted(names):
    """Names of a repr with their count: "2 (fox, dog)", or "none"."""
    return f"{len(names):,} ({listing(names)})" if len(names) else "none"


def array_summary(array):
    """An array of a repr: its shape and dtype."""
    return f"{tuple(array.shape)} {array.dtype}"


@dataclass(frozen=True)
class PermutationResult:
    """The result of :func:`permutation_test` and :func:`mantel`.

    ``statistic`` is the observed correlation (equal to ``rsa``/``compare``);
    ``pvalue`` is (k + 1) / (permutations + 1), with k the permutations at
    least as extreme; ``null_distribution`` (or ``null``, the same array)
    holds the permuted statistics with ``keep_null=True`` and is None
    without it.  The result unpacks as ``statistic, pvalue = result``.
    With ``nan_policy="omit"``: ``omitted_pairs``, how many pairs
    :func:`mantel` left out of the observed statistic (a or b NaN), and
    ``omitted_items``, the indices of the items (rows) :func:`permutation_test`
    left out (a NaN in X or Y).
    """

    statistic: float
    pvalue: float
    permutations: int
    alternative: str
    method: str
    null: np.ndarray | None = None
    omitted_pairs: int = 0
    # Not part of ==: results compare as they did before it (an array has no truth value).
    omitted_items: np.ndarray = field(default_factory=_missing.no_items, compare=False)

    @property
    def null_distribution(self):
        """The permuted statistics (``null``, the same array); None unless ``keep_null=True``."""
        return self.null

    def __iter__(self):
        """``statistic, pvalue = result``, as SciPy's test results unpack."""
        return iter((self.statistic, self.pvalue))

    def __repr__(self):
        omitted = f", omitted_pairs={self.omitted_pairs}" if self.omitted_pairs else ""
        if self.omitted_items.size:
            omitted += f", omitted_items={_values(self.omitted_items, 'items')}"
        return (
            f"PermutationResult(statistic={_number(self.statistic)}, pvalue={_number(self.pvalue)}, "
            f"permutations={self.permutations}, alternative={self.alternative!r}, method={self.method!r}, "
            f"null_distribution={_values(self.null)}{omitted})"
        )


@dataclass(frozen=True)
class BootstrapResult:
    """The result of :func:`bootstrap_ci`: the observed ``statistic``, the
    interval ``confidence_interval`` (``.low``, ``.high``; also the fields
    ``low`` and ``high``) at ``confidence``, of the kind ``interval`` names
    ("percentile" or "bca"), the resampled statistics in
    ``bootstrap_distribution`` (or ``distribution``, the same array) and
    their ``standard_error``; ``omitted_items``, the indices of the items
    (rows) left out with ``nan_policy="omit"``.  Both intervals where both
    were computed: ``percentile_interval`` always, ``bca_interval`` with
    ``interval="bca"`` (None otherwise)."""

    statistic: float
    low: float
    high: float
    confidence: float
    method: str
    distribution: np.ndarray
    omitted_items: np.ndarray = field(default_factory=_missing.no_items, compare=False)

    # Private fields, set by ``with_intervals`` and kept by
    # ``dataclasses.replace``, outside == (two results are equal by their
    # numbers).  A result made from the public fields alone holds a
    # percentile interval.
    _kind: str = field(default="percentile", compare=False, repr=False)
    _bca: object = field(default=None, compare=False, repr=False)
    _percentile: object = field(default=None, compare=False, repr=False)

    @classmethod
    def with_intervals(cls, statistic, confidence, method, distribution, omitted_items, percentile, bca=None,
                       kind="percentile"):
        """The result whose ``low`` and ``high`` are those of the ``kind``
        of interval ("percentile" or "bca"), carrying both
        (``ConfidenceInterval`` each; ``bca`` None where not computed)."""
        low, high = bca if kind == "bca" else percentile
        return cls(statistic, low, high, confidence, method, distribution, omitted_items, kind, bca, percentile)

    @property
    def confidence_interval(self):
        """The interval as ``ConfidenceInterval(low, high)``, a named tuple."""
        return ConfidenceInterval(self.low, self.high)

    @property
    def interval(self):
        """The kind of interval ``low`` and ``high`` hold: "percentile" or "bca"."""
        return self._kind

    @property
    def percentile_interval(self):
        """The percentile interval, ``ConfidenceInterval(low, high)``, whichever kind ``interval`` is."""
        return self._percentile if self._percentile is not None else self.confidence_interval

    @property
    def bca_interval(self):
        """The BCa interval, ``ConfidenceInterval(low, high)``; None unless ``interval="bca"``."""
        return self._bca

    @property
    def bootstrap_distribution(self):
        """The resampled statistics (``distribution``, the same array)."""
        return self.distribution

    @property
    def standard_error(self):
        """The bootstrap standard error, as ``scipy.stats.bootstrap`` has it:
        the sample standard deviation of the distribution (``ddof=1``); NaN
        for a single resample."""
        if self.distribution.size < 2:
            return math.nan
        return float(np.std(self.distribution, ddof=1))

    def __repr__(self):
        other = f", percentile_interval={_interval(self.percentile_interval)}" if self.interval != "percentile" else ""
        omitted = f", omitted_items={_values(self.omitted_items, 'items')}" if self.omitted_items.size else ""
        return (
            f"BootstrapResult(statistic={_number(self.statistic)}, "
            f"confidence_interval={_interval(self.confidence_interval)}, "
            f"confidence={self.confidence:g}, interval={self.interval!r}{other}, "
            f"standard_error={_number(self.standard_error)}, bootstrap_distribution={_values(self.distribution)}, "
            f"method={self.method!r}{omitted})"
        )


# A matrix's table goes into its repr up to this many cells and characters;
# past them the repr is its first line, and ``print(result)`` the table.
_TABLE_CELLS = 64
_TABLE_CHARACTERS = 1000


def _shape(matrix):
    return "x".join(str(size) for size in matrix.shape)


def _table(result, name="result"):
    """The table of a ``MatrixResult`` after a new line, or where it is long
    a pointer to it (``name``: how the pointer calls the result)."""
    if result.matrix.size <= _TABLE_CELLS:
        table = str(result)
        if len(table) <= _TABLE_CHARACTERS:
            return "\n" + table
    return f" (print({name}) shows the table)"


@dataclass(frozen=True, eq=False)
class MatrixResult:
    """The result of :func:`fastrsa.rsa_matrix`: ``matrix`` (a float64
    array, one row per space of ``spaces`` and one column per space of
    ``others``), the spaces' names in ``row_names`` and ``column_names``,
    and the ``method`` and ``metric`` that made it.  ``np.asarray(result)``
    is the matrix; ``to_pandas()`` a labelled DataFrame."""

    matrix: np.ndarray
    row_names: tuple
    column_names: tuple
    method: str
    metric: str

    def to_pandas(self):
        """The matrix as a ``pandas.DataFrame`` indexed by the names (needs pandas)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("to_pandas() needs pandas: pip install pandas") from None
        return pandas.DataFrame(self.matrix, index=list(self.row_names), columns=list(self.column_names))

    def __array__(self, dtype=None, copy=None):
        return self.matrix if dtype is None else self.matrix.astype(dtype)

    def __str__(self):
        width = max(7, *(len(name) for name in self.column_names))  # (-0.1234)
        first = max(len(name) for name in self.row_names)
        lines = [" " * first + "".join(f" {name:>{width}}" for name in self.column_names)]
        for name, row in zip(self.row_names, self.matrix):
            lines.append(f"{name:<{first}}" + "".join(f" {value:>{width}.4f}" for value in row))
        return "\n".join(lines)

    def __repr__(self):
        return f"<MatrixResult {_shape(self.matrix)} {self.method} ({self.metric})>" + _table(self)


@dataclass(frozen=True, eq=False)
class MatrixPermutationResult:
    """The result of :func:`fastrsa.matrix_permutation_test`.

    ``statistic``: the observed :class:`MatrixResult`; ``pvalues``: each
    cell's permutation p-value, (k + 1) / (permutations + 1); and
    ``familywise_pvalues``: each cell's p-value against the null of the
    largest statistic over all cells (``null_max``, one a permutation):
    the chance that the best of the cells would do as well under the null,
    which controls the family-wise error over the whole matrix.  Cells of a
    space against itself get NaN.  ``null_distribution``: every cell's
    permuted statistics (permutations x rows x columns) with
    ``keep_null=True``, else None.
    """

    statistic: MatrixResult
    pvalues: np.ndarray
    familywise_pvalues: np.ndarray
    permutations: int
    alternative: str
    method: str
    null_max: np.ndarray
    null_distribution: np.ndarray | None = None

    def to_pandas(self):
        """``(statistic, pvalues, familywise_pvalues)`` as DataFrames (needs pandas)."""
        frame = self.statistic.to_pandas()
        as_frame = lambda values: frame.__class__(values, index=frame.index, columns=frame.columns)  # noqa: E731
        return frame, as_frame(self.pvalues), as_frame(self.familywise_pvalues)

    def __repr__(self):
        statistic = self.statistic
        pvalues = (self.pvalues, self.familywise_pvalues)
        smallest = [_number(np.nanmin(p)) if np.isfinite(p).any() else "nan" for p in pvalues]
        return (
            f"<MatrixPermutationResult {_shape(statistic.matrix)} {self.method} ({statistic.metric}), "
            f"permutations={self.permutations}, alternative={self.alternative!r}: "
            f"smallest pvalue {smallest[0]}, smallest familywise_pvalue {smallest[1]}>"
            + _table(statistic, "result.statistic")
        )
