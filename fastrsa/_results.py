"""The results of the inference functions (``fastrsa.stats``).

They read like SciPy's: ``PermutationResult`` as the result of
``scipy.stats.permutation_test`` (``statistic``, ``pvalue``,
``null_distribution``), ``BootstrapResult`` as that of
``scipy.stats.bootstrap`` (``confidence_interval``, ``bootstrap_distribution``,
``standard_error``).  The SciPy names are properties over the fields, so the
fields, and with them equality and repr, are as they were.
"""

import math
from collections import namedtuple
from dataclasses import dataclass, field

import numpy as np

from . import _missing

# As scipy.stats.bootstrap's (which SciPy does not export either): a tuple, so it unpacks.
ConfidenceInterval = namedtuple("ConfidenceInterval", ["low", "high"])
ConfidenceInterval.__doc__ = "A confidence interval: ``low``, ``high``; unpacks as ``low, high = interval``."


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


@dataclass(frozen=True)
class BootstrapResult:
    """The result of :func:`bootstrap_ci`: the observed ``statistic``, the
    percentile interval ``confidence_interval`` (``.low``, ``.high``; also
    the fields ``low`` and ``high``) at ``confidence``, the resampled
    statistics in ``bootstrap_distribution`` (or ``distribution``, the same
    array) and their ``standard_error``; ``omitted_items``, the indices of
    the items (rows) left out with ``nan_policy="omit"``."""

    statistic: float
    low: float
    high: float
    confidence: float
    method: str
    distribution: np.ndarray
    omitted_items: np.ndarray = field(default_factory=_missing.no_items, compare=False)

    @property
    def confidence_interval(self):
        """The interval as ``ConfidenceInterval(low, high)``, a named tuple."""
        return ConfidenceInterval(self.low, self.high)

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
        shape = "x".join(str(size) for size in self.matrix.shape)
        return f"<MatrixResult {shape} {self.method} ({self.metric})>\n{self}"


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
