"""Host applications call fastrsa from several threads: the kernels release
the GIL, and concurrent calls give the results of serial ones."""

import inspect
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from numba.core.registry import CPUDispatcher

import fastrsa
from fastrsa import _kernels
from fastrsa._kernels import correlate, kendall, normalize, rank, resample, tiles

from .helpers import correlated_spaces


@pytest.mark.parametrize("module", [correlate, kendall, normalize, rank, resample, tiles])
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
    assert names == {"_jit", "correlate", "kendall", "normalize", "rank", "resample", "tiles"}


_FORK_POOL = """
import multiprocessing as mp
import os
import pickle
import numpy as np
import fastrsa

def score(k):
    X = np.random.default_rng(k).standard_normal((2000, 50))
    return fastrsa.rsa(X, X + 1, method="spearman"), fastrsa.rsa(X[:300], X[:300] ** 2, method="kendall")

def nested(k):
    # A fork inside a forked worker (pool workers may not use multiprocessing
    # for children): the grandchild computes too.
    read, write = os.pipe()
    if os.fork() == 0:
        os.write(write, pickle.dumps(score(k)))
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as answer:
        return pickle.loads(answer.read())

if __name__ == "__main__":
    context = mp.get_context("fork")
    with context.Pool(2) as pool:  # right after import
        first = pool.map_async(score, range(4)).get(timeout=60)
    expected = [score(k) for k in range(4)]  # the parent's parallel kernels run, then fork again
    with context.Pool(2) as pool:
        second = pool.map_async(score, range(4)).get(timeout=60)
    with context.Pool(2) as pool:
        third = pool.map_async(nested, range(2)).get(timeout=90)
    assert first == expected == second, (first, second, expected)
    assert third == expected[:2], (third, expected)
    print("ok")
"""


def test_fork_pools_work_after_import_and_after_calls(tmp_path):
    # GNU OpenMP cannot run a parallel region in a forked child: without
    # fastrsa's at-fork handler every worker was ended and the pool waited for ever.
    script = tmp_path / "fork_pool.py"
    script.write_text(_FORK_POOL)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    assert "fork() called" not in done.stderr
