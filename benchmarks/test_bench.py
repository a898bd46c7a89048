"""pytest-benchmark suite: fastrsa against NumPy, SciPy and, where installed,
rsatoolbox and mne-rsa.  Not part of the default test run:

    pip install '.[bench]'
    pytest benchmarks --benchmark-group-by=param:n,param:method

Each benchmark first checks that its path gives fastrsa's score, so a fast
wrong answer cannot pass.  For the report's table with ratios, peak memory
and the machine's limits, run ``python -m benchmarks.report``.
"""

import numpy as np
import pytest

import fastrsa

from . import paths
from .data import correlated_spaces, real_spaces

RSA_PEERS = [name for name in paths.RSA_PATHS if paths.installed(name)]


@pytest.fixture(scope="module", params=[500, 2_000], ids=lambda n: f"n={n}")
def n(request):
    return request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("method", ["pearson", "spearman"])
@pytest.mark.parametrize("path", RSA_PEERS)
def test_rsa(benchmark, path, method, dtype, n):
    if path != "fastrsa" and dtype == np.float32:
        dtype = np.float64  # the peers compute in float64 whatever the input
    X, Y = correlated_spaces(n, dtype=dtype)
    # rsatoolbox has no cosine RDM: every path uses the correlation metric here.
    expected = fastrsa.rsa(X, Y, method=method, metric="correlation")
    score = benchmark(paths.RSA_PATHS[path], X, Y, method, "correlation")
    assert score == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("path", list(paths.RSM_PATHS))
def test_rsm(benchmark, path, dtype, n):
    X, _ = correlated_spaces(n, d1=768, dtype=dtype)
    if path.startswith("BLAS"):
        X = X / np.linalg.norm(X, axis=1, keepdims=True)
    result = benchmark(paths.RSM_PATHS[path], X)
    assert result.size in (n * (n - 1) // 2, n * n)


@pytest.mark.parametrize("size", [100_000, 3_000_000], ids=lambda s: f"size={s}")
@pytest.mark.parametrize("path", list(paths.COMPARE_PATHS))
def test_compare_spearman(benchmark, path, size):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(size)
    b = a + rng.standard_normal(size)
    score = benchmark(paths.COMPARE_PATHS[path], a, b)
    assert score == pytest.approx(fastrsa.compare(a, b, "spearman"), abs=1e-9)


@pytest.mark.parametrize("method", ["pearson", "spearman"])
@pytest.mark.parametrize("path", RSA_PEERS)
def test_real_spaces(benchmark, path, method):
    _, X, Y = real_spaces()
    expected = fastrsa.rsa(X, Y, method=method, metric="correlation")
    score = benchmark.pedantic(paths.RSA_PATHS[path], (X, Y, method, "correlation"), rounds=3, warmup_rounds=1)
    assert score == pytest.approx(expected, abs=1e-6)
