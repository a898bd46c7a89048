"""Pictures of similarity matrices (optional extra: ``pip install 'fastrsa[plot]'``).

Each function returns a matplotlib Figure.  A heatmap of more than
``max_items`` items shows an evenly spaced subsample and says so in its title;
the full N x N matrix is never built for large N.

Colour limits: by default each heatmap spans a robust range of the values it
shows off the diagonal, from the ``LOW_PERCENTILE``-th to the
``HIGH_PERCENTILE``-th percentile (the colour bar says so, and its arrows
mark values beyond), so that a few hundred words whose cosines lie between
0.0 and 0.4 do not all come out one colour on a -1 ... 1 scale.  The diagonal
(each item with itself, or a space with itself) carries no information and is
drawn in a neutral grey (``DIAGONAL_COLOUR``).  ``vmin``, ``vmax`` and
``cmap`` override the defaults.
"""

import os

import numpy as np
from scipy.spatial.distance import squareform

from . import api

MAX_ITEMS = 400
MAX_LABELS = 60
MAX_POINTS = 20000
LOW_PERCENTILE = 2  # the default colour range: these percentiles of the off-diagonal values shown
HIGH_PERCENTILE = 98
DEFAULT_CMAP = "viridis"
DIAGONAL_COLOUR = "0.82"  # the masked diagonal (a light neutral grey)
DEFAULT_NAMES = ("X", "Y")


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


def _ordinal(number):
    """'2nd', '98th', '99.5th'."""
    if float(number).is_integer():
        number = int(number)
        suffix = "th" if number % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
        return f"{number}{suffix}"
    return f"{number:g}th"


def _check_limits(vmin, vmax):
    """vmin and vmax: each None or a finite number, vmin below vmax when both are given."""
    for name, value in (("vmin", vmin), ("vmax", vmax)):
        if value is None:
            continue
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"{name} must be a number or None; got {value!r}")
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite; got {value!r}")
    if vmin is not None and vmax is not None and not vmin < vmax:
        raise ValueError(f"vmin must be less than vmax; got vmin={vmin!r}, vmax={vmax!r}")


def _limits(values, vmin, vmax, what):
    """The colour limits and what the colour bar says of them.

    The given limits are kept; a missing one is the LOW_PERCENTILE-th (vmin) or
    HIGH_PERCENTILE-th (vmax) percentile of the finite ``values``.  ``what``
    names the values (``"pairs"``) in the note.
    """
    low, high = vmin, vmax
    if low is None or high is None:
        values = np.asarray(values, dtype=float).ravel()
        values = values[np.isfinite(values)]
        if values.size == 0:
            robust_low, robust_high = 0.0, 1.0
        else:
            robust_low, robust_high = (float(v) for v in np.percentile(values, [LOW_PERCENTILE, HIGH_PERCENTILE]))
        if low is None and high is None and not robust_high - robust_low > 1e-9 * max(1.0, abs(robust_high)):
            robust_low, robust_high = robust_low - 0.05, robust_high + 0.05  # all the same value: a narrow band
        if low is None and high is not None and not robust_low < high:
            raise ValueError(
                f"vmax={high!r} is not above the default vmin {robust_low:.4g} (the {_ordinal(LOW_PERCENTILE)} "
                f"percentile of the {what} shown); give vmin as well")
        if high is None and low is not None and not low < robust_high:
            raise ValueError(
                f"vmin={low!r} is not below the default vmax {robust_high:.4g} (the {_ordinal(HIGH_PERCENTILE)} "
                f"percentile of the {what} shown); give vmax as well")
        low = robust_low if low is None else low
        high = robust_high if high is None else high
    if vmin is None and vmax is None:
        note = f"{_ordinal(LOW_PERCENTILE)}–{_ordinal(HIGH_PERCENTILE)} percentile of {what}"
    elif vmin is None:
        note = f"from the {_ordinal(LOW_PERCENTILE)} percentile of {what}"
    elif vmax is None:
        note = f"to the {_ordinal(HIGH_PERCENTILE)} percentile of {what}"
    else:
        note = ""
    return float(low), float(high), note


def _extend(values, low, high):
    """The colour bar's arrows: which ends have values beyond the limits."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    below = values.size > 0 and values.min() < low
    above = values.size > 0 and values.max() > high
    return {(False, False): "neither", (True, False): "min", (False, True): "max", (True, True): "both"}[below, above]


def _colormap(cmap):
    """A copy of the colour map (a name or a Colormap) that draws masked cells in DIAGONAL_COLOUR."""
    import matplotlib
    from matplotlib.colors import Colormap

    if cmap is None:
        cmap = DEFAULT_CMAP
    if isinstance(cmap, str):
        try:
            cmap = matplotlib.colormaps[cmap]
        except KeyError:
            raise ValueError(f"cmap {cmap!r} is not a matplotlib colour map name (e.g. 'viridis', 'magma')") from None
    elif not isinstance(cmap, Colormap):
        raise ValueError(f"cmap must be a colour map name or a matplotlib Colormap; got {type(cmap).__name__}")
    return cmap.with_extremes(bad=DIAGONAL_COLOUR)  # (a copy: the caller's map keeps its own)


def _label(base, note):
    return f"{base}\n({note})" if note else base


def _panel_names(names):
    """Titles for the two spaces of plot_rsa: file paths become their base names without extension.

    A name is taken as a path when it is a path object, contains a directory
    separator or names an existing file; other names are kept as given.  Two
    paths with the same base name keep their last directory.

    >>> _panel_names(("glove/wiki.6B.300d.txt", "vectors/word2vec.bin"))
    ('wiki.6B.300d', 'word2vec')
    >>> _panel_names(("run1/vectors.txt", "run2/vectors.txt"))
    ('run1/vectors', 'run2/vectors')
    >>> _panel_names(("static", "layer 2.5"))
    ('static', 'layer 2.5')
    """
    if names is None:
        return DEFAULT_NAMES
    if isinstance(names, (str, bytes, os.PathLike)) or len(names) != 2:
        raise ValueError(f"names must be two names, one for X and one for Y; got {names!r}")
    shown, paths = [], []
    for name in names:
        text = os.fsdecode(name) if isinstance(name, (bytes, os.PathLike)) else str(name)
        if isinstance(name, os.PathLike) or "/" in text or os.sep in text or os.path.isfile(text):
            path = os.path.normpath(text)
            paths.append(path)
            shown.append(os.path.splitext(os.path.basename(path))[0] or path)
        else:
            paths.append(None)
            shown.append(text)
    if shown[0] == shown[1] and None not in paths and paths[0] != paths[1]:
        shown = [f"{os.path.basename(os.path.dirname(path))}/{stem}" for path, stem in zip(paths, shown)]
    return tuple(shown)


def _heatmap(ax, X, labels, metric, max_items, title, vmin, vmax, cmap):
    """Draw the masked-diagonal similarity matrix of (a subsample of) X; return the image and its colour bar's
    label and arrows."""
    X = np.asarray(X)
    keep = _subsample(len(X), max_items)
    pairs = api.rsm(X[keep], metric)  # the condensed similarities of the items shown: all that is built
    low, high, note = _limits(pairs, vmin, vmax, "pairs")
    matrix = squareform(pairs, checks=False)
    np.fill_diagonal(matrix, 1.0)
    shown = np.ma.masked_array(matrix, mask=np.eye(len(keep), dtype=bool))
    image = ax.imshow(shown, cmap=_colormap(cmap), vmin=low, vmax=high, interpolation="nearest")
    if len(keep) < len(X):
        title += f"\n({len(keep):,} of {len(X):,} items, evenly spaced)"
    ax.set_title(title)
    if labels is not None and len(keep) <= MAX_LABELS:
        shown_labels = [str(labels[i]) for i in keep]
        size = 8 if len(keep) <= 30 else 7 if len(keep) <= 45 else 6
        ax.set_xticks(range(len(keep)), shown_labels, rotation=90, fontsize=size)
        ax.set_yticks(range(len(keep)), shown_labels, fontsize=size)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    return image, _label(f"{metric} similarity", note), _extend(pairs, low, high)


def plot_rsm(X, labels=None, ax=None, metric="cosine", max_items=MAX_ITEMS, title="similarity matrix",
             vmin=None, vmax=None, cmap=None):
    """Heatmap of the items' similarity matrix, with word labels and a colour bar.

    The diagonal (each item with itself) is drawn in grey.  By default the
    colours span the 2nd to the 98th percentile (``LOW_PERCENTILE``,
    ``HIGH_PERCENTILE``) of the similarities of the pairs shown, and the
    colour bar says so; arrows on it mark the pairs beyond.

    Parameters
    ----------
    X : array_like, shape (n_items, n_features)
    labels : sequence of str, optional
        One per item; drawn when at most 60 items are shown.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.
    metric : {"cosine", "correlation"}
    max_items : int
        Larger N is shown through an evenly spaced subsample of this size
        (only its matrix is computed).
    title : str
    vmin, vmax : float, optional
        Colour limits, in place of the percentiles (either or both).
    cmap : str or matplotlib Colormap, optional
        Default ``"viridis"``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_limits(vmin, vmax)
    plt = _pyplot()
    if labels is not None and len(labels) != len(X):
        raise ValueError(f"labels has {len(labels)} entries for {len(X)} items; give one label per row of X")
    if ax is None:
        figure, ax = plt.subplots(figsize=(6, 5), layout="constrained")
    figure = ax.figure
    image, label, extend = _heatmap(ax, X, labels, metric, max_items, title, vmin, vmax, cmap)
    figure.colorbar(image, ax=ax, label=label, extend=extend)
    return figure


def plot_rsa(X, Y, labels=None, method="pearson", metric="cosine", names=DEFAULT_NAMES, max_items=MAX_ITEMS,
             vmin=None, vmax=None, cmap=None):
    """Two similarity heatmaps side by side and a scatter of the pairs, r in the title.

    The score is :func:`fastrsa.rsa` over all items; the heatmaps subsample
    to ``max_items`` items and the scatter to 20,000 pairs (said on the
    picture when they do).

    Each heatmap has its own colour bar and, by default, its own colour
    range: the 2nd to the 98th percentile of its own pairs' similarities, as
    in :func:`plot_rsm`.  Two spaces often differ in their mean similarity
    (an anisotropic space has high cosines across the board) while RSA only
    compares the orderings of the pairs, so a shared range would show one of
    them as a flat colour; the scatter shows the two on their own scales.
    Give ``vmin`` and ``vmax`` to put both heatmaps on the same fixed range.
    The diagonals are grey.

    Parameters
    ----------
    X, Y : array_like, shape (n_items, n_features_x), (n_items, n_features_y)
    labels : sequence of str, optional
        One per item; drawn when at most 60 items are shown.
    method, metric : as for :func:`fastrsa.rsa`
    names : pair of str or path, optional
        The panels' titles and the scatter's axes.  A file path is shown as
        its base name without extension (``glove/wiki.txt`` as ``wiki``).
        Default ``("X", "Y")``.
    max_items : int
    vmin, vmax : float, optional
        Colour limits of both heatmaps, in place of each one's percentiles.
    cmap : str or matplotlib Colormap, optional
        Default ``"viridis"``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_limits(vmin, vmax)
    names = _panel_names(names)
    plt = _pyplot()
    score = api.rsa(X, Y, method=method, metric=metric)
    if labels is not None and len(labels) != len(X):
        raise ValueError(f"labels has {len(labels)} entries for {len(X)} items; give one label per row of X")
    figure, axes = plt.subplots(1, 3, figsize=(16, 5), layout="constrained")
    for ax, space, name in zip(axes[:2], (X, Y), names):
        image, label, extend = _heatmap(ax, space, labels, metric, max_items, name, vmin, vmax, cmap)
        figure.colorbar(image, ax=ax, label=label, extend=extend, shrink=0.85)

    keep = _subsample(len(X), 2 * MAX_ITEMS)  # at most ~320k pairs computed for the scatter
    a, b = api.rsm(np.asarray(X)[keep], metric), api.rsm(np.asarray(Y)[keep], metric)
    picked = np.random.default_rng(0).permutation(a.size)[:MAX_POINTS]
    few = picked.size <= 2000
    axes[2].scatter(a[picked], b[picked], s=16 if few else 3, alpha=0.8 if few else 0.3, linewidths=0)
    axes[2].set_xlabel(f"{names[0]}: {metric} similarity")
    axes[2].set_ylabel(f"{names[1]}: {metric} similarity")
    shown = f"{picked.size:,} of {len(X) * (len(X) - 1) // 2:,} pairs"
    axes[2].set_title(f"{method} r = {score:.4f} over {len(X):,} items\n({shown})")
    figure.suptitle(f"RSA of {names[0]} and {names[1]}: {method} r = {score:.4f}")
    return figure


def plot_matrix(result, ax=None, title=None, decimals=2, cmap=None, vmin=None, vmax=None):
    """Heatmap of an :func:`fastrsa.rsa_matrix` result: the value written in
    each cell, the spaces' names on both axes, a colour bar.

    Where the rows and the columns are the same spaces (a square matrix with
    the same names), the diagonal (each space with itself, exactly 1) is drawn
    in grey, its values still written.  By default the colours span the 2nd
    to the 98th percentile of the other cells, and the colour bar says so.

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
    cmap : str or matplotlib Colormap, optional
        Default ``"viridis"``.
    vmin, vmax : float, optional
        Colour limits, in place of the percentiles (either or both).

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_limits(vmin, vmax)
    plt = _pyplot()
    familywise = getattr(result, "familywise_pvalues", None)
    result = getattr(result, "statistic", result)
    if not hasattr(result, "matrix") or not hasattr(result, "row_names"):
        raise ValueError("result must be what fastrsa.rsa_matrix or matrix_permutation_test returns; "
                         f"got {type(result).__name__}")
    matrix = np.asarray(result.matrix, dtype=float)
    rows, columns = matrix.shape
    same = rows == columns and rows > 1 and list(map(str, result.row_names)) == list(map(str, result.column_names))
    diagonal = np.eye(rows, dtype=bool) if same else np.zeros(matrix.shape, dtype=bool)
    cells = matrix[~diagonal]
    low, high, note = _limits(cells, vmin, vmax, "off-diagonal cells" if same else "cells")
    if ax is None:
        figure, ax = plt.subplots(figsize=(1.2 + 0.75 * columns, 1.0 + 0.65 * rows), layout="constrained")
    figure = ax.figure
    shown = np.ma.masked_array(matrix, mask=diagonal | ~np.isfinite(matrix))
    image = ax.imshow(shown, cmap=_colormap(cmap), vmin=low, vmax=high, interpolation="nearest")
    colours = image.cmap(image.norm(matrix))
    for i in range(rows):
        for j in range(columns):
            star = "*" if familywise is not None and familywise[i, j] < 0.05 else ""
            if shown.mask[i, j]:
                colour = "0.35"  # (on the grey diagonal)
            else:
                red, green, blue = colours[i, j, :3]
                colour = "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else "black"
            ax.text(j, i, f"{matrix[i, j]:.{decimals}f}{star}", ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(columns), [str(name) for name in result.column_names], rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(rows), [str(name) for name in result.row_names], fontsize=8)
    method = "linear CKA" if result.method == "cka" else f"{result.method} RSA ({result.metric})"
    star_note = "\n* family-wise p < 0.05 (max-statistic)" if familywise is not None else ""
    ax.set_title((title or method) + star_note, fontsize=10)
    figure.colorbar(image, ax=ax, label=_label(method, note), extend=_extend(cells, low, high))
    return figure
