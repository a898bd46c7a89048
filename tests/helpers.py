import numpy as np

# Tolerances per dtype, against float64 SciPy or the float64 reference.
ELEMENT_TOL = {np.float32: 1e-6, np.float64: 1e-12}
SCORE_TOL = {np.float32: 1e-5, np.float64: 1e-10}
DTYPES = [np.float32, np.float64]


def correlated_spaces(rng, n, d1, d2, dtype=np.float64, noise=1.0):
    """Two spaces over the same n items that share structure: Y is a noisy
    random linear map of X."""
    X = rng.standard_normal((n, d1))
    Y = X @ rng.standard_normal((d1, d2)) + noise * rng.standard_normal((n, d2))
    return X.astype(dtype), Y.astype(dtype)


def route_of(X, Y, method="pearson", metric="cosine"):
    """The route rsa's plan takes for X and Y (fastrsa.api.GRAM, PAIRS or SPEARMAN_IN_TURN)."""
    import fastrsa

    return fastrsa.plan(fastrsa.rsa, X, Y, method, metric).choices["route"]
