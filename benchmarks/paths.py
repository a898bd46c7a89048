"""Every way of computing the benchmarked quantities, as users write them.

Each path is a function of (X, Y, method) or of its case's inputs, returning
the score, so that the report can check that every path agrees before timing.
"""

import numpy as np
from scipy.spatial.distance import pdist, squareform
from scipy.stats import kendalltau, pearsonr, rankdata, spearmanr

import fastrsa
import fastrsa.reference


def _unit_rows(X, centre=False):
    if centre:
        X = X - X.mean(axis=1, keepdims=True)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def numpy_rsa(X, Y, method="pearson", metric="cosine"):
    """What users write today: normalise, Xn @ Xn.T, triu_indices, corrcoef."""
    centre = metric == "correlation"
    upper = np.triu_indices(X.shape[0], 1)
    Xn, Yn = _unit_rows(X, centre), _unit_rows(Y, centre)
    a = (Xn @ Xn.T)[upper]
    b = (Yn @ Yn.T)[upper]
    if method == "spearman":
        a, b = rankdata(a), rankdata(b)
    return np.corrcoef(a, b)[0, 1]


def scipy_rsa(X, Y, method="pearson", metric="cosine"):
    """SciPy: 1 - pdist, then pearsonr / spearmanr."""
    a = 1 - pdist(X, metric)
    b = 1 - pdist(Y, metric)
    return (pearsonr if method == "pearson" else spearmanr)(a, b).statistic


def fastrsa_rsa(X, Y, method="pearson", metric="cosine"):
    return fastrsa.rsa(X, Y, method=method, metric=metric)


def rsatoolbox_rsa(X, Y, method="pearson", metric="correlation"):
    """rsatoolbox: calc_rdm, then compare ('corr' or 'spearman').  Its RDM
    metrics include 'correlation' but not cosine."""
    import rsatoolbox

    rdms = [rsatoolbox.rdm.calc_rdm(rsatoolbox.data.Dataset(Z), method=metric) for Z in (X, Y)]
    return float(rsatoolbox.rdm.compare(rdms[0], rdms[1], method="corr" if method == "pearson" else "spearman")[0, 0])


def mne_rsa_rsa(X, Y, method="pearson", metric="correlation"):
    """mne-rsa: compute_rdm (pdist), then rsa."""
    import mne_rsa

    rdms = [mne_rsa.compute_rdm(Z, metric=metric) for Z in (X, Y)]
    return float(mne_rsa.rsa(rdms[0], rdms[1], metric=method))


RSA_PATHS = {
    "fastrsa": fastrsa_rsa,
    "NumPy": numpy_rsa,
    "SciPy": scipy_rsa,
    "rsatoolbox": rsatoolbox_rsa,
    "mne-rsa": mne_rsa_rsa,
}


def fastrsa_rsm(X):
    return fastrsa.rsm(X)


def scipy_rsm(X):
    return 1 - pdist(X, "cosine")


def blas_product(X):
    """The BLAS product alone, on rows normalised beforehand: the floor any
    pairwise path pays (no triangle extraction, N x N output)."""
    return X @ X.T


RSM_PATHS = {"fastrsa": fastrsa_rsm, "SciPy": scipy_rsm, "BLAS Xn @ Xn.T": blas_product}


def fastrsa_spearman(a, b):
    return fastrsa.compare(a, b, "spearman")


def scipy_spearman(a, b):
    return spearmanr(a, b).statistic


COMPARE_PATHS = {"fastrsa": fastrsa_spearman, "SciPy": scipy_spearman}


def fastrsa_kendall(a, b):
    return fastrsa.compare(a, b, "kendall")


def scipy_kendall(a, b):
    return kendalltau(a, b).statistic


KENDALL_PATHS = {"fastrsa": fastrsa_kendall, "SciPy": scipy_kendall}


# The Mantel test.  Each path takes its inputs prepared (not timed) by
# ``mantel_inputs`` and returns the p-value's numerator's statistic.


def mantel_inputs(path, X, Y):
    """What each path starts from: the spaces, condensed RDMs, or scikit-bio's
    DistanceMatrix objects (the precomputed matrices its users hold)."""
    if path == "fastrsa permutation_test":
        return X, Y
    a, b = fastrsa.rdm(X), fastrsa.rdm(Y)
    if path == "scikit-bio":
        from skbio import DistanceMatrix

        return DistanceMatrix(squareform(a), validate=False), DistanceMatrix(squareform(b), validate=False)
    return a, b


def fastrsa_permutation_test(X, Y, method, permutations):
    return fastrsa.permutation_test(X, Y, method, permutations=permutations, seed=0).statistic


def fastrsa_mantel(a, b, method, permutations):
    return fastrsa.mantel(a, b, method, permutations=permutations, seed=0).statistic


def skbio_mantel(a, b, method, permutations):
    from skbio.stats.distance import mantel

    return mantel(a, b, method=method, permutations=permutations, seed=0)[0]


MANTEL_PATHS = {
    "fastrsa permutation_test": fastrsa_permutation_test,
    "fastrsa mantel": fastrsa_mantel,
    "scikit-bio": skbio_mantel,
}


def fastrsa_bootstrap(X, Y, method, n_boot):
    return float(np.median(fastrsa.bootstrap_ci(X, Y, method, n_boot=n_boot, seed=0).distribution))


def reference_bootstrap(X, Y, method, n_boot):
    """A loop over resamples calling the NumPy reference: what users write,
    with the resamples docs/statistics.md describes for ``seed=0`` (batches
    of max(1, min(2**20 // n, max(128, ceil(n_boot / 32)))) draws, batch k
    from the k-th child of SeedSequence(0))."""
    n = X.shape[0]
    per = max(1, min(2**20 // n, max(128, -(-n_boot // 32))))
    sizes = [min(per, n_boot - start) for start in range(0, n_boot, per)]
    children = np.random.SeedSequence(0).spawn(len(sizes))
    samples = np.concatenate([np.random.default_rng(c).integers(0, n, size=(k, n)) for c, k in zip(children, sizes)])
    return float(np.median(fastrsa.reference.bootstrap(X, Y, samples, method)))


BOOTSTRAP_PATHS = {"fastrsa": fastrsa_bootstrap, "NumPy reference loop": reference_bootstrap}


def installed(path_name):
    """Whether an optional peer's package can be imported."""
    module = {"rsatoolbox": "rsatoolbox", "mne-rsa": "mne_rsa", "scikit-bio": "skbio"}.get(path_name)
    if module is None:
        return True
    try:
        __import__(module)
    except ImportError:
        return False
    return True
