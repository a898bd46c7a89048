"""The results of the inference functions (``fastrsa.stats``)."""

from dataclasses import dataclass, field

import numpy as np

from . import _missing


@dataclass(frozen=True)
class PermutationResult:
    """The result of :func:`permutation_test` and :func:`mantel`.

    ``statistic`` is the observed correlation (equal to ``rsa``/``compare``);
    ``pvalue`` is (k + 1) / (permutations + 1), with k the permutations at
    least as extreme; ``null`` holds the permuted statistics when asked for.
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


@dataclass(frozen=True)
class BootstrapResult:
    """The result of :func:`bootstrap_ci`: the observed ``statistic``, the
    percentile interval [``low``, ``high``] at ``confidence``, and the
    resampled statistics in ``distribution``; ``omitted_items``, the indices
    of the items (rows) left out with ``nan_policy="omit"``."""

    statistic: float
    low: float
    high: float
    confidence: float
    method: str
    distribution: np.ndarray
    omitted_items: np.ndarray = field(default_factory=_missing.no_items, compare=False)
