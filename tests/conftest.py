import os
import time

import numpy as np
import pytest
from hypothesis import settings


def pytest_sessionstart(session):
    """On a cold Numba cache (a fresh install, as in CI) fastrsa's kernels
    are compiled first, in two processes side by side (one per dtype), not
    one by one as the tests first call them: on 2 cores that halves the
    compile time (several minutes in one process)."""
    from fastrsa import _warm

    if _warm.is_cold() and (os.cpu_count() or 1) > 1:
        uncached, total = _warm.cold()
        print(f"\nfastrsa: {uncached} of {total} kernels not in Numba's cache: compiling them in 2 processes first", flush=True)
        start = time.perf_counter()
        uncached, total = _warm.warm_up_side_by_side()
        print(f"fastrsa: {total - uncached} of {total} cached in {time.perf_counter() - start:.0f} s (not in pytest's time)", flush=True)


@pytest.fixture
def rng():
    return np.random.default_rng(20261122)


# CI runs the property tests on a fixed set of examples, so a result there
# never depends on the draw; locally each run explores new ones.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
