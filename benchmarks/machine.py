"""What the machine can do: the ceilings the report measures fastrsa against."""

import os
import platform
import time
from importlib import metadata

import numba
import numpy as np
from numba import prange


def _median_seconds(function, rounds):
    function()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def gemm_gflops(dtype=np.float64, n=4000, rounds=3):
    """Floating-point operations per second of one large BLAS product (2n³ flops)."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    return 2 * n**3 / _median_seconds(lambda: a @ a, rounds) / 1e9


@numba.njit(parallel=True, cache=True)
def _triad(a, b, c, scalar):
    for i in prange(a.size):
        a[i] = b[i] + scalar * c[i]


def triad_gbytes(n=1 << 26, rounds=5):
    """Memory bandwidth by the STREAM triad a = b + s c on all threads
    (24 bytes a float64 element, as STREAM counts)."""
    b = np.ones(n)
    c = np.ones(n)
    a = np.empty(n)
    return 24 * n / _median_seconds(lambda: _triad(a, b, c, 3.0), rounds) / 1e9


def cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_in_use():
    """The BLAS libraries loaded, as threadpoolctl reports them."""
    from threadpoolctl import threadpool_info

    np.ones((2, 2)) @ np.ones((2, 2))
    return [
        f"{info.get('internal_api')} {info.get('version')} ({info.get('architecture')} kernel, "
        f"{info.get('num_threads')} threads, {os.path.basename(info.get('filepath', ''))})"
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]


def versions():
    import fastrsa

    found = {"fastrsa": fastrsa.__version__}
    for package in ("numpy", "scipy", "numba", "rsatoolbox", "mne-rsa", "scikit-bio"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    found["python"] = platform.python_version()
    return found


def describe():
    """Everything the report prints about the machine, as a dict."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "numba_threading_layer": _threading_layer(),
        "blas": blas_in_use(),
        # OpenBLAS picks its kernel by CPU unless told otherwise; the report
        # states what told it.
        "openblas_environment": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")},
        "versions": versions(),
        "gemm_gflops_float64": gemm_gflops(np.float64),
        "gemm_gflops_float32": gemm_gflops(np.float32),
        "triad_gbytes": triad_gbytes(),
    }


def _threading_layer():
    import fastrsa  # noqa: F401  (chooses the layer)

    _triad(np.empty(4), np.ones(4), np.ones(4), 1.0)
    return numba.threading_layer()
