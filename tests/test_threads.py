"""Host applications call fastrsa from several threads: the kernels release
the GIL, and concurrent calls give the results of serial ones."""

import inspect
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import pytest
from numba.core.registry import CPUDispatcher

import fastrsa
from fastrsa import _kernels, _threads, _tuning
from fastrsa._kernels import batched, binned, correlate, duplicates, jackknife, kendall, knn, normalize, rank, resample, scale, summary, tiles

from .helpers import correlated_spaces


@pytest.mark.parametrize("module", [batched, binned, correlate, duplicates, jackknife, kendall, knn, normalize, rank, resample, scale, summary, tiles])
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
    for n, method, exact in [(200, "spearman", None), (60, "pearson", None), (300, "spearman", None), (2000, "pearson", None), (300, "spearman", False)]:
        X, Y = correlated_spaces(rng, n, 40, 30)
        tasks.append((X, Y, method, exact))
    tasks *= 3
    serial = [fastrsa.rsa(X, Y, method=method, exact=exact) for X, Y, method, exact in tasks]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda task: fastrsa.rsa(task[0], task[1], method=task[2], exact=task[3]), tasks))
    assert concurrent == serial


def test_kernels_package_has_only_kernel_modules():
    # The nogil check above must see every module that defines kernels.
    import pkgutil

    names = {m.name for m in pkgutil.iter_modules(_kernels.__path__)}
    assert names == {"_jit", "batched", "binned", "correlate", "duplicates", "jackknife", "kendall", "knn", "normalize", "rank", "resample", "scale", "summary", "tiles"}


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


def test_small_work_runs_on_the_calling_thread_and_restores_the_count():
    default = numba.get_num_threads()
    with _threads.threads_for(_tuning.SERIAL_WORK - 1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == default
    with pytest.raises(KeyError), _threads.threads_for(0):
        raise KeyError("restored even so")
    assert numba.get_num_threads() == default
    with _threads.threads_for(_tuning.SERIAL_WORK):
        assert numba.get_num_threads() == default


def test_one_thread_is_asked_for_in_the_calling_host_thread_only():
    default = numba.get_num_threads()
    inside, seen = threading.Event(), []

    def other():
        inside.wait(10)
        seen.append(numba.get_num_threads())

    helper = threading.Thread(target=other)
    helper.start()
    with _threads.threads_for(0):
        inside.set()
        helper.join(10)
    assert seen == [default]


def _recording_thread_counts(monkeypatch):
    counts = []
    original = numba.set_num_threads
    monkeypatch.setattr(numba, "set_num_threads", lambda k: (counts.append(k), original(k)))
    return counts


@pytest.mark.parametrize("call", [
    lambda X, Y: fastrsa.rsa(X, Y, method="spearman"),
    lambda X, Y: fastrsa.rsa(X, Y, method="kendall"),
    lambda X, Y: fastrsa.rsm(X),
    lambda X, Y: fastrsa.rdm(Y, "euclidean"),
    lambda X, Y: fastrsa.compare(fastrsa.rsm(X), fastrsa.rsm(Y), "spearman"),
    lambda X, Y: fastrsa.permutation_test(X, Y, method="spearman", permutations=20, seed=0),
    lambda X, Y: fastrsa.bootstrap_ci(X, Y, n_boot=20, seed=0),
])
def test_a_searchlight_sized_call_runs_on_the_calling_thread(rng, monkeypatch, call):
    X, Y = correlated_spaces(rng, 60, 300, 768)
    counts = _recording_thread_counts(monkeypatch)
    call(X, Y)
    if numba.get_num_threads() == 1:  # (NUMBA_NUM_THREADS=1: nothing to ask for)
        assert counts == []
    else:
        assert counts[0] == 1 and counts[-1] == numba.get_num_threads(), counts


def test_a_large_call_keeps_every_thread(rng, monkeypatch):
    X, Y = correlated_spaces(rng, 400, 300, 768)
    counts = _recording_thread_counts(monkeypatch)
    fastrsa.rsa(X, Y, method="spearman")
    assert counts == []
