"""Numba's cache of fastrsa's kernels: whether it is filled, and filling it.

Every kernel is compiled with ``cache=True``: the first call of each in an
install compiles it and writes it to Numba's cache, beside the module (``__pycache__``) or, where
that cannot be written, in the user's cache folder (``NUMBA_CACHE_DIR``
chooses another).  Later processes load it instead.  ``cold()`` says
how many kernels have no cache file yet, so the command line can say once
that it is compiling; ``warm_up()`` (``fastrsa warm-up``) compiles them
ahead, for a cluster's workers or a container image.
"""

import importlib
import os
import pkgutil

import numpy as np

from . import _kernels, _tuning

def dispatchers():
    """Every cached Numba dispatcher of ``fastrsa._kernels``, once each."""
    found = {}
    for module_info in pkgutil.iter_modules(_kernels.__path__):
        module = importlib.import_module(f"{_kernels.__name__}.{module_info.name}")
        for value in vars(module).values():
            cache = getattr(value, "_cache", None)
            if cache is not None and getattr(value, "py_func", None) is not None and hasattr(cache, "_cache_file"):
                found[id(value)] = value
    return list(found.values())


def cached(dispatcher):
    """Whether ``dispatcher`` has code in Numba's cache that this install can
    load: an index file written for its source as it is now, by this Numba
    (a stale one, after an upgrade, reads as empty)."""
    cache_file = dispatcher._cache._cache_file
    return os.path.exists(cache_file._index_path) and bool(cache_file._load_index())


def cold():
    """``(uncached, total)``: the kernels without a cache file, of all."""
    kernels = dispatchers()
    return sum(not cached(kernel) for kernel in kernels), len(kernels)


def is_cold():
    """Whether fewer than ``COLD_SHARE`` of the kernels are cached: the first run of an install."""
    uncached, total = cold()
    return total > 0 and uncached > (1 - _tuning.COLD_SHARE) * total


def _calls():
    """``(what, call)`` pairs: small calls that between them take every path
    of the public functions, in float32 and float64 (each compiles its
    kernels for its types)."""
    import fastrsa

    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        X = rng.standard_normal((60, 12)).astype(dtype)
        Y = (X @ rng.standard_normal((12, 20))).astype(dtype)
        tall = rng.standard_normal((3000, 4)).astype(dtype)  # (N large against D: the Gram identity)
        tall_y = (tall + rng.standard_normal(tall.shape)).astype(dtype)
        name = np.dtype(dtype).name
        for metric in ("cosine", "correlation", "euclidean", "sqeuclidean"):
            yield f"rsm, rdm ({metric}, {name})", lambda: (fastrsa.rsm(X, metric) if metric in ("cosine", "correlation") else None, fastrsa.rdm(X, metric))
            for method in ("pearson", "spearman", "kendall"):
                yield f"rsa ({method}, {metric}, {name})", lambda: fastrsa.rsa(X, Y, method=method, metric=metric)
        yield f"rsa by the Gram identity ({name})", lambda: fastrsa.rsa(tall, tall_y)
        yield f"binned Spearman ({name})", lambda: fastrsa.rsa(X, Y, method="spearman", exact=False)
        yield f"split_half ({name})", lambda: fastrsa.split_half(Y)
        for method in ("pearson", "spearman"):
            yield f"permutation_test ({method}, {name})", lambda: fastrsa.permutation_test(X, Y, method=method, permutations=20, seed=0)
            yield f"bootstrap_ci ({method}, {name})", lambda: fastrsa.bootstrap_ci(X, Y, method=method, n_boot=20, seed=0)
        yield f"permutation_test by the Gram identity ({name})", lambda: fastrsa.permutation_test(tall, tall_y, permutations=20, seed=0)
        yield f"bootstrap_ci by the Gram identity ({name})", lambda: fastrsa.bootstrap_ci(tall, tall_y, n_boot=20, seed=0)
        yield f"mantel ({name})", lambda: [fastrsa.mantel(fastrsa.rdm(X), fastrsa.rdm(Y), method=m, permutations=20, seed=0) for m in ("pearson", "spearman")]
        yield f"compare ({name})", lambda: [fastrsa.compare(fastrsa.rdm(X), fastrsa.rdm(Y), method=m) for m in ("pearson", "spearman", "kendall")]
        stack = np.stack([X, X + 0.5 * rng.standard_normal(X.shape).astype(dtype)])
        yield f"batched rsa ({name})", lambda: [fastrsa.rsa(stack, stack, method=m) for m in ("pearson", "spearman", "kendall")]
        spaces = {"a": X, "b": Y, "c": X[:, :6]}
        yield f"rsa_matrix ({name})", lambda: [fastrsa.rsa_matrix(spaces, method=m) for m in ("pearson", "spearman", "kendall", "cka")]
        yield f"cka, mutual_knn ({name})", lambda: (fastrsa.cka(X, Y), fastrsa.cka(X, Y, debiased=True), fastrsa.mutual_knn(X, Y, k=5))
        yield f"summary ({name})", lambda: (fastrsa.api.similarity_summary(X, Y), fastrsa.api.similarity_summary(tall, tall_y))
        yield f"extreme magnitudes ({name})", lambda: fastrsa.rsa(X * dtype(1e30), Y)
        rows = np.stack([fastrsa.rdm(X), fastrsa.rdm(Y)])
        yield f"compare of rows ({name})", lambda: [fastrsa.compare(rows, rows[::-1], method=m) for m in ("pearson", "spearman", "kendall")]
        yield f"fastrsa.jit ({name})", lambda: _jit_calls(X)
        yield f"rsm, rdm into .npy files ({name})", lambda: _written_calls(X)
        missing = fastrsa.rdm(X).astype(np.float64)
        missing[3] = np.nan
        yield f"mantel with missing pairs ({name})", lambda: [
            fastrsa.mantel(missing, fastrsa.rdm(Y), method=m, permutations=20, seed=0, nan_policy="omit") for m in ("pearson", "spearman")
        ]  # fmt: skip
        many = rng.standard_normal((1500, 8)).astype(dtype)
        yield f"mutual_knn over many items ({name})", lambda: fastrsa.mutual_knn(many, many + dtype(0.1), k=10)


def _jit_calls(X):
    from . import jit

    sims = np.empty(X.shape[0] * (X.shape[0] - 1) // 2, X.dtype)
    jit.rsm_into(np.ascontiguousarray(X), sims)
    return jit.pearson(sims, sims[::-1].copy()), jit.spearman(sims, sims[::-1].copy())


def _written_calls(X):
    import tempfile

    import fastrsa

    with tempfile.TemporaryDirectory() as folder:
        fastrsa.rsm(X, out=os.path.join(folder, "rsm.npy"))
        fastrsa.rdm(X, "euclidean", out=os.path.join(folder, "rdm.npy"))


def warm_up(report=None):
    """Compile every kernel fastrsa's calls take (``_calls``) and cache it.
    ``report(what)`` is called before each call.  Returns ``cold()`` after."""
    for what, call in _calls():
        if report:
            report(what)
        call()
    return cold()
