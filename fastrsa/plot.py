"""Pictures of similarity matrices (optional extra: ``pip install 'fastrsa[plot]'``).

Each function returns a matplotlib Figure.  A heatmap of more than
``max_items`` items shows an evenly spaced subsample and says so in its title;
the full N x N matrix is never built for large N.
"""

import numpy as np
from scipy.spatial.distance import squareform

from . import api

MAX_ITEMS = 400
MAX_LABELS = 60
MAX_POINTS = 20000


def _pyplot():
    """matplotlib.pyplot (which falls back to the Agg backend without a display)."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("fastrsa's plots need matplotlib: pip install 'fastrsa[plot]'") from None
    return plt


def _subsample(n, max_items):
    """Evenly spaced item indices, at most max_items of them."""
    if n <= max_items:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_items).round().astype(np.intp))


def _heatmap(ax, X, labels, metric, max_items, title):
    X = np.asarray(X)
    keep = _subsample(len(X), max_items)
    matrix = squareform(api.rsm(X[keep], metric), checks=False)
    np.fill_diagonal(matrix, 1.0)
    image = ax.imshow(matrix, cmap="viridis", vmin=-1, vmax=1, interpolation="nearest")
    if len(keep) < len(X):
        title += f"\n({len(keep)} of {len(X)} items, evenly spaced)"
    ax.set_title(title)
    if labels is not None and len(keep) <= MAX_LABELS:
        shown = [str(labels[i]) for i in keep]
        ax.set_xticks(range(len(keep)), shown, rotation=90, fontsize=8)
        ax.set_yticks(range(len(keep)), shown, fontsize=8)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    return image


def plot_rsm(X, labels=None, ax=None, metric="cosine", max_items=MAX_ITEMS, title="similarity matrix"):
    """Heatmap of the items' similarity matrix, with word labels and a colour bar.

    Parameters
    ----------
    X : array_like, shape (n_items, n_features)
    labels : sequence of str, optional
        One per item; drawn when at most 60 items are shown.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.
    metric : {"cosine", "correlation"}
    max_items : int
        Larger N is shown through an evenly spaced subsample of this size.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    if labels is not None and len(labels) != len(X):
        raise ValueError(f"labels has {len(labels)} entries for {len(X)} items; give one label per row of X")
    if ax is None:
        figure, ax = plt.subplots(figsize=(6, 5), layout="constrained")
    figure = ax.figure
    image = _heatmap(ax, X, labels, metric, max_items, title)
    figure.colorbar(image, ax=ax, label=f"{metric} similarity")
    return figure


def plot_rsa(X, Y, labels=None, method="pearson", metric="cosine", names=("X", "Y"), max_items=MAX_ITEMS):
    """Two similarity heatmaps side by side and a scatter of the pairs, r in the title.

    The score is :func:`fastrsa.rsa` over all items; the heatmaps subsample
    to ``max_items`` items and the scatter to 20,000 pairs (said on the
    picture when they do).

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    score = api.rsa(X, Y, method=method, metric=metric)
    if labels is not None and len(labels) != len(X):
        raise ValueError(f"labels has {len(labels)} entries for {len(X)} items; give one label per row of X")
    figure, axes = plt.subplots(1, 3, figsize=(16, 5), layout="constrained")
    _heatmap(axes[0], X, labels, metric, max_items, names[0])
    image = _heatmap(axes[1], Y, labels, metric, max_items, names[1])
    figure.colorbar(image, ax=axes[:2], label=f"{metric} similarity", shrink=0.8)

    keep = _subsample(len(X), 2 * MAX_ITEMS)  # at most ~320k pairs computed for the scatter
    a, b = api.rsm(np.asarray(X)[keep], metric), api.rsm(np.asarray(Y)[keep], metric)
    picked = np.random.default_rng(0).permutation(a.size)[:MAX_POINTS]
    few = picked.size <= 2000
    axes[2].scatter(a[picked], b[picked], s=16 if few else 3, alpha=0.8 if few else 0.3, linewidths=0)
    axes[2].set_xlabel(f"{names[0]} {metric} similarity")
    axes[2].set_ylabel(f"{names[1]} {metric} similarity")
    shown = f"{picked.size:,} of {len(X) * (len(X) - 1) // 2:,} pairs"
    axes[2].set_title(f"{method} r = {score:.4f} over {len(X):,} items\n({shown})")
    figure.suptitle(f"RSA of {names[0]} and {names[1]}: {method} r = {score:.4f}")
    return figure


def plot_matrix(result, ax=None, title=None, decimals=2, cmap="viridis"):
    """Heatmap of an :func:`fastrsa.rsa_matrix` result: the value written in
    each cell, the spaces' names on both axes, a colour bar.

    Parameters
    ----------
    result : MatrixResult or MatrixPermutationResult
        A permutation result draws its statistic, and marks with ``*`` the
        cells whose family-wise p-value is below 0.05.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.
    title : str, optional
        Default: the method and metric.
    decimals : int
        Digits written in the cells.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    familywise = getattr(result, "familywise_pvalues", None)
    result = getattr(result, "statistic", result)
    if not hasattr(result, "matrix") or not hasattr(result, "row_names"):
        raise ValueError(f"result must be what fastrsa.rsa_matrix or matrix_permutation_test returns; got {type(result).__name__}")
    matrix = np.asarray(result.matrix, dtype=float)
    rows, columns = matrix.shape
    if ax is None:
        figure, ax = plt.subplots(figsize=(1.2 + 0.75 * columns, 1.0 + 0.65 * rows), layout="constrained")
    figure = ax.figure
    low = -1.0 if np.nanmin(matrix) < 0 else 0.0
    image = ax.imshow(matrix, cmap=cmap, vmin=low, vmax=1.0, interpolation="nearest")
    cut = low + 0.6 * (1.0 - low)  # (light text on the dark cells)
    for i in range(rows):
        for j in range(columns):
            star = "*" if familywise is not None and familywise[i, j] < 0.05 else ""
            ax.text(j, i, f"{matrix[i, j]:.{decimals}f}{star}", ha="center", va="center", fontsize=8,
                    color="white" if matrix[i, j] < cut else "black")
    ax.set_xticks(range(columns), [str(name) for name in result.column_names], rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(rows), [str(name) for name in result.row_names], fontsize=8)
    method = "linear CKA" if result.method == "cka" else f"{result.method} RSA ({result.metric})"
    note = "\n* family-wise p < 0.05 (max-statistic)" if familywise is not None else ""
    ax.set_title((title or method) + note, fontsize=10)
    figure.colorbar(image, ax=ax, label=method)
    return figure
