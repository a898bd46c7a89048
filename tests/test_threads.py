"""Host applications call fastrsa from several threads: the kernels release
the GIL, and concurrent calls give the results of serial ones."""

import inspect
from concurrent.futures import ThreadPoolExecutor

import pytest
from numba.core.registry import CPUDispatcher

import fastrsa
from fastrsa import _kernels
from fastrsa._kernels import correlate, kendall, normalize, rank, resample, scale, tiles

from .helpers import correlated_spaces


@pytest.mark.parametrize("module", [correlate, kendall, normalize, rank, resample, scale, tiles])
def test_every_kernel_releases_the_gil(module):
    kernels = [f for _, f in inspect.getmembers(module) if isinstance(f, CPUDispatcher)]
    assert kernels, module
    for kernel in kernels:
        assert kernel.targetoptions.get("nogil") is True, kernel.py_func.__name__
        assert type(kernel._cache).__name__ == "FunctionCache", kernel.py_func.__name__  # cache=True


def test_concurrent_calls_give_the_serial_results(rng):
    # Sizes that take every parallel path: rank buckets, parallel moments and
    # normalisation, and the Gram path.
    tasks = []
    for n, method in [(200, "spearman"), (60, "pearson"), (300, "spearman"), (2000, "pearson")]:
        X, Y = correlated_spaces(rng, n, 40, 30)
        tasks.append((X, Y, method))
    tasks *= 3
    serial = [fastrsa.rsa(X, Y, method=method) for X, Y, method in tasks]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda task: fastrsa.rsa(task[0], task[1], method=task[2]), tasks))
    assert concurrent == serial


def test_kernels_package_has_only_kernel_modules():
    # The nogil check above must see every module that defines kernels.
    import pkgutil

    names = {m.name for m in pkgutil.iter_modules(_kernels.__path__)}
    assert names == {"_jit", "correlate", "kendall", "normalize", "rank", "resample", "scale", "tiles"}
