"""The memory guard: a clear MemoryError subclass before any large allocation,
and the Gram path for Pearson when the pairs would not fit."""

import os
import pickle
import resource
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import fastrsa
from fastrsa import _gram, _memory, _tuning, api

from .helpers import correlated_spaces


def _pretend_available(monkeypatch, nbytes):
    """The machine has ``nbytes`` available, and even small calls are checked."""
    monkeypatch.setattr(_memory, "available_bytes", lambda: nbytes)
    monkeypatch.setattr(_memory, "_UNCHECKED", 0)


@pytest.fixture
def little_memory(monkeypatch):
    """A machine with 1 MiB available: nothing but the smallest call fits."""
    _pretend_available(monkeypatch, 1 << 20)


def test_rsm_that_does_not_fit_raises_before_allocating(rng, little_memory):
    X = rng.standard_normal((100, 5))
    with pytest.raises(fastrsa.InsufficientMemoryError, match=r"rsm of 100 items needs about .* GiB .* available; use fewer items") as caught:
        fastrsa.rsm(X)
    assert isinstance(caught.value, MemoryError)
    assert caught.value.needed > caught.value.available == 1 << 20


@pytest.mark.parametrize("call", [
    lambda X, Y: fastrsa.rdm(X, "euclidean"),
    lambda X, Y: fastrsa.rsa(X, Y, method="spearman"),
    lambda X, Y: fastrsa.rsa(X, Y, metric="euclidean"),
    lambda X, Y: fastrsa.compare(X[:, 0], Y[:, 0], "spearman"),
])
def test_every_pairwise_path_is_guarded(rng, little_memory, call):
    X, Y = correlated_spaces(rng, 100, 5, 6)
    with pytest.raises(fastrsa.InsufficientMemoryError):
        call(X, Y)


def test_spearman_error_names_the_path_that_fits(rng, little_memory):
    X, Y = correlated_spaces(rng, 100, 5, 6)
    with pytest.raises(fastrsa.InsufficientMemoryError, match="method='pearson' with metric='cosine' .* fits"):
        fastrsa.rsa(X, Y, method="spearman")


def test_pearson_falls_back_to_the_gram_path_when_pairs_do_not_fit(rng, monkeypatch):
    # 60 features over 170 items: the pairs path is cheaper, so rsa() takes it
    # unless memory is short; the Gram path gives the same score.  Blocks of
    # 8 rows make the Gram path need less memory than the pairs.
    X, Y = correlated_spaces(rng, 170, 60, 60)
    expected = fastrsa.rsa(X, Y)
    monkeypatch.setattr(_tuning, "GRAM_BLOCK", 8)
    gram, pairs = _gram.memory_bytes(60, 60, 170), fastrsa.plan(fastrsa.rsa, X, Y, "pearson").memory_bytes
    assert not api._prefer_gram(170, 60, 60) and gram < pairs
    _pretend_available(monkeypatch, _memory._OVERHEAD + (gram + pairs) // 2)
    assert not _memory.fits(pairs)  # the pairs really do not fit
    assert fastrsa.rsa(X, Y) == pytest.approx(expected, abs=1e-10)
    _pretend_available(monkeypatch, _memory._OVERHEAD + gram - 1)
    with pytest.raises(fastrsa.InsufficientMemoryError, match="by the Gram matrices of 60 and 60 features"):
        fastrsa.rsa(X, Y)  # nor does the Gram path


def test_unknown_available_memory_does_not_block(rng, monkeypatch):
    _pretend_available(monkeypatch, None)
    assert fastrsa.rsm(rng.standard_normal((5, 2))).shape == (10,)


def test_available_bytes_reads_this_machine():
    available = _memory.available_bytes()
    assert available is None or available > 0


def test_small_calls_do_not_read_the_system_figures(rng, monkeypatch):
    def unreadable():
        raise AssertionError("available_bytes was read for a small call")

    monkeypatch.setattr(_memory, "available_bytes", unreadable)
    monkeypatch.setattr(_memory, "limits", unreadable)
    X, Y = correlated_spaces(rng, 30, 4, 5)
    fastrsa.rsa(X, Y, method="spearman")
    fastrsa.permutation_test(X, Y, "spearman", permutations=99, seed=0)
    fastrsa.permutation_test(X, Y, permutations=99, seed=0)
    fastrsa.mantel(fastrsa.rdm(X), fastrsa.rdm(Y), permutations=99, seed=0)
    fastrsa.bootstrap_ci(X, Y, n_boot=99, seed=0)


# The limits: each read from files and functions a test points at its own.

GIB = 1 << 30


@pytest.fixture
def fake_system(tmp_path, monkeypatch):
    """A machine of files under ``tmp_path``: ``write(relative path, text)``
    adds one.  It starts with 64 GiB available, no rlimit and no cgroup."""

    def write(relative, text):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    monkeypatch.setattr(_memory, "_MEMINFO", str(tmp_path / "meminfo"))
    monkeypatch.setattr(_memory, "_STATUS", str(tmp_path / "status"))
    monkeypatch.setattr(_memory, "_CGROUP", str(tmp_path / "cgroup"))
    monkeypatch.setattr(_memory, "_CGROUP_ROOT", str(tmp_path / "sys"))
    monkeypatch.setattr(resource, "getrlimit", lambda which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    write("meminfo", f"MemTotal:       99999999 kB\nMemAvailable:   {64 * GIB // 1024} kB\n")
    write("status", "Name:\tpython\nVmSize:\t 1048576 kB\nVmData:\t  524288 kB\n")
    return write


def test_without_other_limits_available_is_memavailable(fake_system):
    available = _memory.available_bytes()
    assert available == 64 * GIB and "MemAvailable" in available.limit


def test_the_address_space_limit_less_what_is_mapped(fake_system, monkeypatch):
    limits = {resource.RLIMIT_AS: 8 * GIB, resource.RLIMIT_DATA: resource.RLIM_INFINITY}
    monkeypatch.setattr(resource, "getrlimit", lambda which: (limits[which], resource.RLIM_INFINITY))
    available = _memory.available_bytes()
    assert available == 8 * GIB - GIB  # VmSize is 1 GiB
    assert available.limit == "the address-space limit, ulimit -v"
    limits[resource.RLIMIT_DATA] = 2 * GIB  # less VmData, 0.5 GiB
    assert _memory.available_bytes() == 1.5 * GIB
    assert _memory.available_bytes().limit == "the data-segment limit, ulimit -d"
    fake_system("status", "VmSize: lots\n")  # what is mapped unknown: the limit itself bounds it
    assert _memory.available_bytes() == 2 * GIB


def test_cgroup_v2_takes_the_tightest_ancestor(fake_system):
    fake_system("cgroup", "0::/job/step/task\n")
    fake_system("sys/memory.max", "max\n")  # the root has none
    fake_system("sys/job/memory.max", f"{6 * GIB}\n")
    fake_system("sys/job/memory.current", f"{GIB}\n")
    fake_system("sys/job/step/memory.max", "max\n")
    fake_system("sys/job/step/task/memory.max", f"{10 * GIB}\n")
    fake_system("sys/job/step/task/memory.current", "0\n")
    available = _memory.available_bytes()
    assert available == 5 * GIB
    assert available.limit == "the memory limit of cgroup /job, memory.max"
    # Page cache the kernel reclaims before the limit is not counted as used.
    fake_system("sys/job/memory.stat", f"anon {GIB // 2}\ninactive_file {GIB // 2}\nactive_file 0\n")
    assert _memory.available_bytes() == 5.5 * GIB


def test_cgroup_v1_memory_controller_and_a_container_root(fake_system):
    # Inside a container the cgroup's path is not under the mount: the mount
    # itself is the container's cgroup.  v1 spells "no limit" 2**63 less a page.
    fake_system("cgroup", "5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n")
    fake_system("sys/memory/memory.limit_in_bytes", f"{3 * GIB}\n")
    fake_system("sys/memory/memory.usage_in_bytes", f"{GIB}\n")
    fake_system("sys/memory/memory.stat", "cache 0\ntotal_inactive_file 0\n")
    assert _memory.available_bytes() == 2 * GIB
    assert _memory.available_bytes().limit == "the memory limit of cgroup /, memory.limit_in_bytes"
    fake_system("sys/memory/memory.limit_in_bytes", "9223372036854771712\n")
    assert _memory.available_bytes() == 64 * GIB


@pytest.mark.parametrize("files", [
    {"cgroup": "garbage without colons\n\n0::\n", "sys/memory.max": "12 GiB\n"},
    {"cgroup": "0::/../../elsewhere\n", "sys/memory.max": "\n"},
    {"cgroup": "0::/a\n", "sys/a/memory.max": "-5\n", "meminfo": "MemAvailable: many kB\n", "status": "VmSize:\n"},
], ids=["odd cgroup lines", "path outside the namespace", "odd numbers"])
def test_odd_or_missing_figures_are_left_out(fake_system, files):
    for relative, text in files.items():
        fake_system(relative, text)
    found = _memory.limits()
    assert found and not any("cgroup" in limit for _, limit in found)
    assert all(nbytes > 0 for nbytes, _ in found)


def test_nothing_readable_means_unknown(fake_system, monkeypatch):
    fake_system("meminfo", "")
    monkeypatch.setattr(_memory.os, "sysconf", lambda name: (_ for _ in ()).throw(ValueError(name)))
    assert _memory.limits() == [] and _memory.available_bytes() is None


def test_the_message_names_the_limit_that_binds(rng, monkeypatch):
    monkeypatch.setattr(_memory, "limits", lambda: [(64 * GIB, "MemAvailable"), (GIB, "the address-space limit, ulimit -v")])
    X = rng.standard_normal((20000, 2))
    with pytest.raises(fastrsa.InsufficientMemoryError, match=r"1\.00 GiB is available \(the address-space limit, ulimit -v\); use fewer") as caught:
        fastrsa.rsm(X)
    assert caught.value.available == GIB and caught.value.limit == "the address-space limit, ulimit -v"
    again = pickle.loads(pickle.dumps(caught.value))  # as a process pool returns it
    assert (str(again), again.needed, again.available, again.limit) == (
        str(caught.value), caught.value.needed, GIB, caught.value.limit)


# A real address-space limit, in a child process: the guard refuses before
# NumPy's allocation would fail.
_CHILD = r"""
import resource
import numpy as np, fastrsa
from fastrsa import _memory
rng = np.random.default_rng(0)
fits, too_big = rng.standard_normal((3000, 2)), rng.standard_normal((10000, 2))
fastrsa.rsm(fits)  # compiled, and threads started, before the limit
_memory._UNCHECKED = 0  # small calls checked too
with open("/proc/self/status") as status:
    mapped = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (mapped + (256 << 20), resource.getrlimit(resource.RLIMIT_AS)[1]))
assert fastrsa.rsm(fits).size == 3000 * 2999 // 2  # 36 MB: checked, and it fits
try:
    fastrsa.rsm(too_big)  # 400 MB
except fastrsa.InsufficientMemoryError as error:
    print("refused:", error)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_real_address_space_limit_is_seen_before_allocating():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(fastrsa.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]))
    child = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, env=env, timeout=300)
    assert child.returncode == 0, child.stderr  # NumPy's MemoryError would end it with a traceback
    assert "refused: rsm of 10,000 items needs about" in child.stdout
    assert "(the address-space limit, ulimit -v)" in child.stdout


# Result arrays and batches counted; absurd counts refused.

@pytest.mark.parametrize("count", [0, 2**40 + 1, 10**30])
def test_absurd_counts_are_refused_at_once(rng, count):
    X, Y = correlated_spaces(rng, 10, 3, 3)
    a, b = fastrsa.rdm(X), fastrsa.rdm(Y)
    with pytest.raises(ValueError, match=r"permutations=.* use a positive integer up to 2\*\*40 = 1,099,511,627,776"):
        fastrsa.permutation_test(X, Y, permutations=count)
    with pytest.raises(ValueError, match=r"permutations=.* up to 2\*\*40"):
        fastrsa.mantel(a, b, permutations=count)
    with pytest.raises(ValueError, match=r"n_boot=.* up to 2\*\*40"):
        fastrsa.bootstrap_ci(X, Y, n_boot=count)


@pytest.mark.parametrize("call", [
    lambda X, Y: fastrsa.permutation_test(X, Y, "spearman", permutations=10**9),
    lambda X, Y: fastrsa.permutation_test(X, Y, metric="euclidean", permutations=10**9),
    lambda X, Y: fastrsa.permutation_test(X, Y, permutations=10**9),  # the Gram path
    lambda X, Y: fastrsa.mantel(fastrsa.rdm(X), fastrsa.rdm(Y), permutations=10**9),
], ids=["spearman", "pearson pairs", "pearson gram", "mantel"])
def test_the_null_distribution_is_counted(rng, monkeypatch, call):
    X, Y = correlated_spaces(rng, 2000, 3, 3)
    monkeypatch.setattr(_memory, "available_bytes", lambda: 4 * GIB)
    with pytest.raises(fastrsa.InsufficientMemoryError, match=r"with 1,000,000,000 permutations needs about 1[56]\.\d\d GiB .*; use fewer permutations"):
        call(X, Y)


def test_the_bootstrap_distribution_is_counted(rng, monkeypatch):
    X, Y = correlated_spaces(rng, 20, 3, 3)
    monkeypatch.setattr(_memory, "available_bytes", lambda: 4 * GIB)
    with pytest.raises(fastrsa.InsufficientMemoryError, match=r"with 1,000,000,000 resamples needs about 15\.\d\d GiB .*; use fewer resamples"):
        fastrsa.bootstrap_ci(X, Y, n_boot=10**9)


def test_gram_permutations_are_guarded(rng, monkeypatch):
    X, Y = correlated_spaces(rng, 500, 4, 3)
    monkeypatch.setattr(_memory, "available_bytes", lambda: 1 << 20)
    monkeypatch.setattr(_memory, "_UNCHECKED", 0)
    with pytest.raises(fastrsa.InsufficientMemoryError, match="permutation_test over 500 items"):
        fastrsa.permutation_test(X, Y, permutations=10)


# The estimates against the peaks NumPy reports to tracemalloc: the
# estimate is not below the peak, nor far above it.

def _peak_and_estimate(monkeypatch, call):
    estimates = []
    require = fastrsa.Plan.require
    monkeypatch.setattr(fastrsa.Plan, "require", lambda plan: (estimates.append(plan.memory_bytes), require(plan)))
    call()  # compiled first
    estimates.clear()
    tracemalloc.start()
    try:
        call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, max(estimates)  # the call's own, beside those of the calls it makes


@pytest.mark.parametrize("n, call", [
    (10, lambda X, Y: fastrsa.permutation_test(X, Y, metric="euclidean", permutations=400_000, seed=1)),
    (10, lambda X, Y: fastrsa.permutation_test(X, Y, "spearman", permutations=400_000, alternative="greater", seed=1)),
    (600, lambda X, Y: fastrsa.permutation_test(X, Y, "spearman", permutations=2000, seed=1)),  # one full batch
    (1500, lambda X, Y: fastrsa.permutation_test(X, Y, "spearman", permutations=20, seed=1)),  # Y's square matrix
    (10, lambda X, Y: fastrsa.mantel(fastrsa.rdm(X), fastrsa.rdm(Y), permutations=400_000, seed=1)),
    (8, lambda X, Y: fastrsa.bootstrap_ci(X, Y, n_boot=400_000, seed=1)),
    (1000, lambda X, Y: fastrsa.bootstrap_ci(X, Y, "spearman", n_boot=8, seed=1)),
    (100, lambda X, Y: fastrsa.bootstrap_ci(X, Y, n_boot=12_000, seed=1)),  # two batches
], ids=["null two-sided", "null one-sided", "batches", "square", "mantel", "distribution", "spearman layout", "counts"])
def test_resampling_estimates_match_their_peaks(rng, monkeypatch, n, call):
    X, Y = correlated_spaces(rng, n, 3, 3)
    peak, estimate = _peak_and_estimate(monkeypatch, lambda: call(X, Y))
    assert 0.9 * estimate <= peak <= 1.01 * estimate


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gram_estimate_counts_the_product_temporaries(rng, monkeypatch, dtype):
    # With small blocks the Gram matrices dominate; each block's product (and
    # each matrix's square at the end) is a new matrix as large as the largest.
    monkeypatch.setattr(_tuning, "GRAM_BLOCK", 16)
    X, Y = correlated_spaces(rng, 200, 400, 300, dtype)
    _gram.pair_moments(X, Y, False)
    tracemalloc.start()
    try:
        _gram.pair_moments(X, Y, False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    estimate = _gram.memory_bytes(400, 300, 200, dtype == np.float32)
    assert 0.9 * estimate <= peak <= estimate
