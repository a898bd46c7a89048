"""fastrsa.jit: the kernels called from a user's own numba.njit code, against
the public API and fastrsa.reference."""

import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest
from scipy.stats import spearmanr

import fastrsa
import fastrsa.jit
from fastrsa import reference
from fastrsa._kernels.rank import COARSE_SIZE
from fastrsa._kernels.tiles import TILE_WORK, one_thread_side

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


@numba.njit(parallel=True)
def _rsms_in_prange(spaces, out):
    """The obvious parallel searchlight: one space per prange iteration."""
    for k in numba.prange(spaces.shape[0]):
        fastrsa.jit.rsm_into(spaces[k], out[k])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "n, d",
    [(3, 4), (17, 768), (40, 300), (9, 1), (60, 300), (12, TILE_WORK // 64 + 5)],
    ids=["N=3", "tile edge", "tiles", "1-d", "many tiles", "tiles of 8 rows"],
)
def test_rsm_into_in_a_users_prange_gets_the_serial_bits(rng, dtype, n, d):
    spaces = rng.standard_normal((5, n, d)).astype(dtype)
    spaces[1] *= 1e-25  # rows whose products underflow in float32: scaled first
    spaces[2, :, ::2] = spaces[2, :1, ::2]  # rows that share half their features
    parallel = np.empty((5, n * (n - 1) // 2), dtype)
    threads = numba.get_num_threads()
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)  # all of them (more than one where there are)
    try:
        _rsms_in_prange(spaces, parallel)
    finally:
        numba.set_num_threads(threads)
    for k in range(5):
        serial = np.empty(n * (n - 1) // 2, dtype)
        fastrsa.jit.rsm_into(spaces[k], serial)
        np.testing.assert_array_equal(parallel[k], serial)
        expected = reference.rsm(spaces[k].astype(np.float64))
        np.testing.assert_allclose(serial, expected, rtol=0, atol=ELEMENT_TOL[dtype])


@pytest.mark.parametrize("n", [3, 17, 200, 5000])
@pytest.mark.parametrize("d", [1, 7, 300, 768, 4096, 4097, 100_000])
def test_rsm_into_tiles_have_a_side_for_any_size(n, d):
    side = one_thread_side(n, d)
    assert side >= 8 and side % 8 == 0
    assert side * side * d <= TILE_WORK or side == 8


# Numba's workqueue threading layer ends the process at a parallel launch
# from inside a parallel region: run under it, a prange over rsm_into shows
# that rsm_into launches none (its spaces are large enough that a parallel
# normalisation or tile loop would have been taken).
_IN_A_PRANGE_UNDER_WORKQUEUE = """
import numba, numpy as np
import fastrsa.jit
from fastrsa import reference
@numba.njit(parallel=True)
def rsms(spaces, out):
    for k in numba.prange(spaces.shape[0]):
        fastrsa.jit.rsm_into(spaces[k], out[k])
spaces = np.random.default_rng(0).standard_normal((4, 200, 300))
out = np.empty((4, 200 * 199 // 2))
rsms(spaces, out)
assert numba.threading_layer() == "workqueue", numba.threading_layer()
for k in range(4):
    np.testing.assert_allclose(out[k], reference.rsm(spaces[k]), rtol=0, atol=1e-12)
print("ok")
"""


def test_rsm_into_in_a_prange_launches_no_nested_parallel_region():
    root = str(Path(fastrsa.__file__).parents[1])
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue", NUMBA_NUM_THREADS="2",
               PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    child = subprocess.run([sys.executable, "-c", _IN_A_PRANGE_UNDER_WORKQUEUE], env=env, capture_output=True,
                           text=True, timeout=600)
    assert child.returncode == 0 and child.stdout.strip() == "ok", (child.returncode, child.stderr[-2000:])


@pytest.mark.parametrize("size", [5, COARSE_SIZE + 1])  # one bucket, and the parallel buckets
def test_spearman_matches_scipy_with_ties(rng, size):
    a = rng.integers(0, 7, size).astype(np.float64)
    b = a + rng.standard_normal(size)
    assert fastrsa.jit.spearman(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)


def test_the_namespace_lists_what_it_exports():
    for name in fastrsa.jit.__all__:
        assert isinstance(getattr(fastrsa.jit, name), numba.core.registry.CPUDispatcher), name
