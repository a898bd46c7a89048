"""fastrsa.jit: the kernels called from a user's own numba.njit code, against
the public API and fastrsa.reference."""

import numba
import numpy as np
import pytest
from scipy.stats import spearmanr

import fastrsa
import fastrsa.jit
from fastrsa import reference
from fastrsa._kernels.rank import COARSE_SIZE

from .helpers import DTYPES, ELEMENT_TOL, SCORE_TOL, correlated_spaces


@numba.njit
def _layer_scores(layers, widths, target):
    """A layer sweep as users write it: slice each layer out of one matrix,
    compute its RSM and correlate it with a target RSM, all in compiled code."""
    n = layers.shape[0]
    scores = np.empty((len(widths) - 1, 2))
    sims = np.empty(n * (n - 1) // 2, layers.dtype)
    for k in range(len(widths) - 1):
        layer = np.ascontiguousarray(layers[:, widths[k] : widths[k + 1]])
        fastrsa.jit.rsm_into(layer, sims)
        scores[k, 0] = fastrsa.jit.pearson(sims, target)
        scores[k, 1] = fastrsa.jit.spearman(sims, target)
    return scores


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_user_kernel_gets_the_public_api_scores(rng, dtype):
    X, Y = correlated_spaces(rng, 40, 6, 12, dtype)
    layers = np.ascontiguousarray(np.hstack([X, Y, X[:, :3] + Y[:, :3]]))
    widths = np.array([0, 6, 18, 21])
    target = fastrsa.rsm(Y)
    scores = _layer_scores(layers, widths, target)
    for k in range(3):
        layer = layers[:, widths[k] : widths[k + 1]]
        assert scores[k, 0] == pytest.approx(fastrsa.compare(fastrsa.rsm(layer), target), abs=SCORE_TOL[dtype])
        assert scores[k, 1] == pytest.approx(
            fastrsa.compare(fastrsa.rsm(layer), target, "spearman"), abs=SCORE_TOL[dtype]
        )
    assert scores[1, 0] == pytest.approx(1.0)  # Y against itself


@pytest.mark.parametrize("dtype", DTYPES)
def test_rsm_into_matches_reference(rng, dtype):
    X = rng.standard_normal((9, 4)).astype(dtype)
    out = np.empty(36, dtype)
    fastrsa.jit.rsm_into(X, out)
    np.testing.assert_allclose(out, reference.rsm(X.astype(np.float64)), rtol=0, atol=ELEMENT_TOL[dtype])


@pytest.mark.parametrize("size", [5, COARSE_SIZE + 1])  # one bucket, and the parallel buckets
def test_spearman_matches_scipy_with_ties(rng, size):
    a = rng.integers(0, 7, size).astype(np.float64)
    b = a + rng.standard_normal(size)
    assert fastrsa.jit.spearman(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)


def test_the_namespace_lists_what_it_exports():
    for name in fastrsa.jit.__all__:
        assert isinstance(getattr(fastrsa.jit, name), numba.core.registry.CPUDispatcher), name
