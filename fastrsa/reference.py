"""The same functions as the public API in plain NumPy: short, obviously
right, and slow.  The tests' oracle.  No input checks: give it clean input.

dtypes follow the API: float32 stays float32 for ``normalize_rows``, ``rsm``
and ``rdm`` with cosine or correlation; everything else is float64.

Right at every finite magnitude: rows, vectors, each pair's differences and
(for the Euclidean scores) whole spaces are multiplied by a power of two
before their sums, which is exact and changes no result where the plain
sums neither overflow nor underflow.
"""

import numpy as np
from scipy.spatial.distance import squareform
from scipy.stats import rankdata


def _floats(X):
    X = np.asarray(X)
    return X if X.dtype == np.float32 else X.astype(np.float64)


def _near_one(X, axis=-1):
    """X times the power of two that brings its largest magnitude along
    ``axis`` into [0.5, 1)."""
    _, exponent = np.frexp(np.abs(X).max(axis=axis, keepdims=True))
    return np.ldexp(X, -exponent)


def normalize_rows(X):
    X = _near_one(_floats(X))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def rsm(X, metric="cosine"):
    X = _near_one(_floats(X))
    if metric == "correlation":
        X = X - X.mean(axis=1, keepdims=True)
    unit = normalize_rows(X)
    return (unit @ unit.T)[np.triu_indices(len(X), k=1)]


def rdm(X, metric="cosine"):
    if metric in ("cosine", "correlation"):
        return 1 - rsm(X, metric)
    X = np.asarray(X, dtype=np.float64)
    i, j = np.triu_indices(len(X), k=1)
    differences = X[i] - X[j]
    _, exponent = np.frexp(np.abs(differences).max(axis=1))
    squared = (np.ldexp(differences, -exponent[:, None]) ** 2).sum(axis=1)
    if metric == "sqeuclidean":
        return np.ldexp(squared, 2 * exponent)
    return np.ldexp(np.sqrt(squared), exponent)


def _pair_signs(v):
    """sign(v_k - v_l) for every pair k < l of a short vector."""
    k, l = np.triu_indices(v.size, k=1)
    return np.sign(v[k] - v[l])


def compare(a, b, method="pearson"):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if method in ("kendall", "tau-a"):
        # Concordant minus discordant pairs, by definition: O(M^2), short vectors only.
        sa, sb = _pair_signs(a), _pair_signs(b)
        if method == "tau-a":
            return float((sa * sb).sum() / sa.size)
        return float((sa * sb).sum() / np.sqrt(np.abs(sa).sum() * np.abs(sb).sum()))
    if method == "spearman":
        a, b = rankdata(a), rankdata(b)
    return float(np.corrcoef(_near_one(a), _near_one(b))[0, 1])


def _at_scale_one(X, metric):
    """For the Euclidean metrics, X near 1 as a whole: its squared distances
    then stay in float64's range, and no score sees a common scale (cosine
    and correlation rows are scaled one by one in ``rsm``)."""
    X = _floats(X)
    return _near_one(X, axis=None) if metric in ("euclidean", "sqeuclidean") else X


def rsa(X, Y, method="pearson", metric="cosine"):
    X, Y = _at_scale_one(X, metric), _at_scale_one(Y, metric)
    return compare(rdm(X, metric), rdm(Y, metric), method)


def split_half(X, split="even-odd", method="pearson", metric="cosine", seed=None):
    X = np.asarray(X)
    d = X.shape[1]
    if split == "even-odd":
        return rsa(X[:, 0::2], X[:, 1::2], method, metric)
    order = np.arange(d) if split == "halves" else np.random.default_rng(seed).permutation(d)
    return rsa(X[:, order[: d // 2]], X[:, order[d // 2 :]], method, metric)


def permuted(b, permutation):
    """The condensed vector of b's items relabelled: pair (i, j) takes the
    value of pair (p[i], p[j])."""
    from scipy.spatial.distance import squareform

    square = squareform(np.asarray(b, dtype=np.float64), checks=False)
    return squareform(square[np.ix_(permutation, permutation)], checks=False)


def mantel(a, b, method, permutations, alternative="two-sided"):
    """The Mantel test with the given permutations (rows), as
    ``skbio.stats.distance.mantel``: returns (statistic, pvalue, null)."""
    statistic = compare(a, b, method)
    null = np.array([compare(a, permuted(b, p), method) for p in permutations])
    if alternative == "greater":
        extreme = null >= statistic - 1e-12
    elif alternative == "less":
        extreme = null <= statistic + 1e-12
    else:
        extreme = np.abs(null) >= abs(statistic) - 1e-12
    return statistic, (extreme.sum() + 1) / (len(null) + 1), null


def bootstrap(X, Y, samples, method="pearson", metric="cosine"):
    """rsa over each resample of items (rows of ``samples``), leaving out the
    pairs of an item with its own copy.  A resample's pairs are the sample's
    pairs of the items drawn: two copies of an item tie exactly with a third
    item (a product of the repeated rows could round differently in each
    place, and break the tie, depending on the BLAS kernel)."""
    X, Y = _at_scale_one(X, metric), _at_scale_one(Y, metric)
    dissimilarities = squareform(rdm(X, metric)), squareform(rdm(Y, metric))
    statistics = []
    for s in samples:
        i, j = np.triu_indices(len(s), k=1)
        keep = s[i] != s[j]
        x, y = (matrix[s[i], s[j]][keep] for matrix in dissimilarities)
        statistics.append(compare(x, y, method))
    return np.array(statistics)
