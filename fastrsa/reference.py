"""The same functions as the public API in plain NumPy: short, obviously
right, and slow.  The tests' oracle.  No input checks: give it clean input.

dtypes follow the API: float32 stays float32 for ``normalize_rows``, ``rsm``
and ``rdm`` with cosine or correlation; everything else is float64.

Right at every finite magnitude: rows, vectors, each pair's differences and
(for the Euclidean scores) whole spaces are multiplied by a power of two
before their sums, which is exact and changes no result where the plain
sums neither overflow nor underflow.

``nan_policy="omit"`` masks, then runs the same code: ``compare`` leaves out
the pairs where a or b is NaN, ``rsa`` the items with a NaN in X or Y, and
``mantel`` permutes b's square matrix NaN included before masking.  Where too
few values are left, or they do not vary, the correlation is NaN.
"""

import numpy as np
from scipy.spatial.distance import pdist, squareform
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


def rdm(X, metric="cosine"):
    """SciPy's ``pdist``, every pair computed alike (one loop per pair, so
    equal rows give equal dissimilarities, where a matrix product rounds each
    pair its own way and breaks such ties), on rows scaled one by one for
    cosine and correlation; the Euclidean distances from each pair's
    differences, scaled."""
    X = _floats(X)
    if metric in ("cosine", "correlation"):
        return pdist(_near_one(X).astype(np.float64), metric).astype(X.dtype)
    X = X.astype(np.float64)
    i, j = np.triu_indices(len(X), k=1)
    differences = X[i] - X[j]
    _, exponent = np.frexp(np.abs(differences).max(axis=1))
    squared = (np.ldexp(differences, -exponent[:, None]) ** 2).sum(axis=1)
    if metric == "sqeuclidean":
        return np.ldexp(squared, 2 * exponent)
    return np.ldexp(np.sqrt(squared), exponent)


def rsm(X, metric="cosine"):
    X = _floats(X)
    return (1 - pdist(_near_one(X).astype(np.float64), metric)).astype(X.dtype)


def _pair_signs(v):
    """sign(v_k - v_l) for every pair k < l of a short vector."""
    k, l = np.triu_indices(v.size, k=1)
    return np.sign(v[k] - v[l])


def compare(a, b, method="pearson", nan_policy="raise"):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if nan_policy == "omit":
        keep = ~(np.isnan(a) | np.isnan(b))
        a, b = a[keep], b[keep]
        if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
            return np.nan
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


def _without_nan_items(X, Y):
    """X and Y without the items (rows) that have a NaN in either."""
    X, Y = np.asarray(X), np.asarray(Y)
    keep = ~(np.isnan(X).any(axis=1) | np.isnan(Y).any(axis=1))
    return X[keep], Y[keep]


def rsa(X, Y, method="pearson", metric="cosine", nan_policy="raise"):
    if nan_policy == "omit":
        X, Y = _without_nan_items(X, Y)
    X, Y = _at_scale_one(X, metric), _at_scale_one(Y, metric)
    return compare(rdm(X, metric), rdm(Y, metric), method)


def split_half(X, split="even-odd", method="pearson", metric="cosine", seed=None, nan_policy="raise"):
    X = np.asarray(X)
    if nan_policy == "omit":
        X, _ = _without_nan_items(X, X)
    d = X.shape[1]
    if split == "even-odd":
        return rsa(X[:, 0::2], X[:, 1::2], method, metric)
    order = np.arange(d) if split == "halves" else np.random.default_rng(seed).permutation(d)
    return rsa(X[:, order[: d // 2]], X[:, order[d // 2 :]], method, metric)


def permuted(b, permutation):
    """The condensed vector of b's items relabelled: pair (i, j) takes the
    value of pair (p[i], p[j])."""
    square = squareform(np.asarray(b, dtype=np.float64), checks=False)
    return squareform(square[np.ix_(permutation, permutation)], checks=False)


def mantel(a, b, method, permutations, alternative="two-sided", nan_policy="raise"):
    """The Mantel test with the given permutations (rows), as
    ``skbio.stats.distance.mantel``: returns (statistic, pvalue, null).  The
    p-value counts the permutations with a statistic (NaN in the null is a
    permutation that left too few pairs, or constant ones)."""
    statistic = compare(a, b, method, nan_policy)
    null = np.array([compare(a, permuted(b, p), method, nan_policy) for p in permutations])
    defined = null[~np.isnan(null)]
    return statistic, _pvalue(defined, statistic, alternative), null


def _pvalue(null, statistic, alternative):
    if alternative == "greater":
        extreme = null >= statistic - 1e-12
    elif alternative == "less":
        extreme = null <= statistic + 1e-12
    else:
        extreme = np.abs(null) >= abs(statistic) - 1e-12
    return (extreme.sum() + 1) / (len(null) + 1)


def bootstrap(X, Y, samples, method="pearson", metric="cosine", nan_policy="raise"):
    """rsa over each resample of items (rows of ``samples``), leaving out the
    pairs of an item with its own copy (with ``nan_policy="omit"``, of the
    items left once those with a NaN are).  A resample's pairs are the sample's
    pairs of the items drawn: two copies of an item tie exactly with a third
    item (a product of the repeated rows could round differently in each
    place, and break the tie, depending on the BLAS kernel)."""
    if nan_policy == "omit":
        X, Y = _without_nan_items(X, Y)
    X, Y = _at_scale_one(X, metric), _at_scale_one(Y, metric)
    dissimilarities = squareform(rdm(X, metric)), squareform(rdm(Y, metric))
    statistics = []
    for s in samples:
        i, j = np.triu_indices(len(s), k=1)
        keep = s[i] != s[j]
        x, y = (matrix[s[i], s[j]][keep] for matrix in dissimilarities)
        statistics.append(compare(x, y, method))
    return np.array(statistics)


def neighbours(X, k):
    """Each item's k nearest other items, nearest first: the full N x N
    matrix of cosines, each pair's product summed alone (so bitwise-equal
    rows get bitwise-equal products, which a matrix product need not give)
    over its rows' lengths in float64, clipped, rounded to X's dtype as
    ``rsm`` rounds it; the diagonal left out, and a stable sort by
    (-similarity, index)."""
    X = _floats(X)
    rows = X.astype(np.float64)
    products = np.array([(rows * row).sum(axis=1) for row in rows])
    norms = np.sqrt((rows * rows).sum(axis=1))
    cosines = np.clip(products / np.outer(norms, norms), -1, 1).astype(X.dtype)
    np.fill_diagonal(cosines, -np.inf)
    return np.argsort(-cosines, axis=1, kind="stable")[:, :k]


def mutual_knn(X, Y, k):
    """The mean over items of the share of their k nearest neighbours that
    X and Y have in common."""
    a, b = neighbours(X, k), neighbours(Y, k)
    return float(np.mean([len(set(p) & set(q)) / k for p, q in zip(a, b)]))


def _gram_linear(X):
    """Kornblith et al.'s ``gram_linear``: the linear kernel X Xᵀ (in float64)."""
    X = np.asarray(X, dtype=np.float64)
    return X @ X.T


def _center_gram(gram, unbiased=False):
    """Kornblith et al.'s ``center_gram``: HKH, or with ``unbiased`` the
    U-centred kernel (diagonal zeroed; Székely & Rizzo 2014) whose inner
    products are the unbiased HSIC estimator times N(N-3)."""
    gram = gram.copy()
    n = gram.shape[0]
    if unbiased:
        np.fill_diagonal(gram, 0)
        means = np.sum(gram, 0) / (n - 2)
        means -= np.sum(means) / (2 * (n - 1))
        gram -= means[:, None]
        gram -= means[None, :]
        np.fill_diagonal(gram, 0)
    else:
        means = np.mean(gram, 0)
        means -= np.mean(means) / 2
        gram -= means[:, None]
        gram -= means[None, :]
    return gram


def cka(X, Y, debiased=False):
    """Linear CKA over the N x N kernels, as Kornblith et al.'s reference
    code (google-research/google-research, representation_similarity/Demo.ipynb:
    ``cka(gram_linear(X), gram_linear(Y), debiased)``), in float64.  NaN
    where a centred kernel is zero (0/0)."""
    K = _center_gram(_gram_linear(X), unbiased=debiased)
    L = _center_gram(_gram_linear(Y), unbiased=debiased)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(K.ravel() @ L.ravel() / (np.linalg.norm(K) * np.linalg.norm(L)))
