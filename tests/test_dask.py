"""fastrsa on a Dask cluster (``client=``): the same answers bit for bit.

One LocalCluster of 2 worker processes with 1 thread each serves the
module (started once: a few seconds).  Sizes are small, with the task
sizes lowered through ``_tuning`` so that every call makes several tasks.
"""

import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
import time

import numpy as np
import pytest

import fastrsa
import fastrsa.reference
from fastrsa import _tuning

distributed = pytest.importorskip("distributed")  # (in the test extra: CI runs these)


@pytest.fixture(scope="module")
def client():
    environment = dict(os.environ)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    )
    # (LocalCluster leaves its workers' settings, OPENBLAS_NUM_THREADS=1 and others, in this
    # process's environment: the tests after these would start their children with them.)
    os.environ.clear()
    os.environ.update(environment)
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


@pytest.fixture
def small_tasks(monkeypatch):
    """Many tasks at test sizes (the partition is the client's: workers take the ranges they are given)."""
    monkeypatch.setattr(_tuning, "GRAM_TASK_ROWS", 256)
    monkeypatch.setattr(_tuning, "GRAM_BLOCK", 128)
    monkeypatch.setattr(_tuning, "BINNED_TASK_PAIRS", 1 << 15)


def _spaces(n, d1, d2, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d1))
    Y = X[:, : min(d1, d2)] @ rng.standard_normal((min(d1, d2), d2)) + 2.0 * rng.standard_normal((n, d2))
    return X.astype(dtype), Y.astype(dtype)


def _same(a, b):
    assert float(a) == float(b), (float(a), float(b))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("metric", ["cosine", "correlation"])
def test_pearson_on_the_cluster_is_the_local_score(client, small_tasks, dtype, metric):
    X, Y = _spaces(1500, 40, 70, dtype)
    plan = fastrsa.plan(fastrsa.rsa, X, Y, metric=metric, client=client)
    assert plan.choices["route"] == "gram" and plan.choices["tasks"].count == 6
    assert "6 tasks a pass on 2 Dask workers (2 threads)" in str(plan)
    _same(fastrsa.rsa(X, Y, metric=metric, client=client), fastrsa.rsa(X, Y, metric=metric))
    tolerance = 1e-10 if dtype == np.float64 else 1e-5  # (docs/index.md: float32 to 1e-5)
    assert abs(fastrsa.rsa(X, Y, metric=metric) - fastrsa.reference.rsa(X, Y, metric=metric)) < tolerance


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binned_spearman_on_the_cluster_is_the_local_score(client, small_tasks, dtype):
    X, Y = _spaces(700, 30, 50, dtype, seed=1)
    plan = fastrsa.plan(fastrsa.rsa, X, Y, method="spearman", client=client)
    assert plan.choices["route"] == "binned spearman" and plan.choices["tasks"].count > 4
    remote = fastrsa.rsa(X, Y, method="spearman", client=client)  # (exact=None: binned on a cluster)
    local = fastrsa.rsa(X, Y, method="spearman", exact=False)
    _same(remote, local)
    assert remote.error_bound == local.error_bound and remote.passes == local.passes
    assert abs(remote - fastrsa.reference.rsa(X, Y, method="spearman")) <= remote.error_bound


def test_spaces_on_disk_are_read_on_the_workers(client, small_tasks, tmp_path):
    X, Y = _spaces(1100, 20, 30, np.float64, seed=2)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    paths = (str(tmp_path / "x.npy"), str(tmp_path / "y.npy"))
    _same(fastrsa.rsa(*paths, client=client), fastrsa.rsa(X, Y))
    _same(fastrsa.rsa(*paths, method="spearman", client=client), fastrsa.rsa(X, Y, method="spearman", exact=False))
    # Their values are checked on the workers, as the first pass reads them: the errors are the local ones.
    X[700] = 0.0
    Y[300, 4] = np.nan
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    with pytest.raises(ValueError, match=r"^X \(in 'x.npy'\) row 700 is all zeros") as remote:
        fastrsa.rsa(*paths, client=client)
    with pytest.raises(ValueError) as local:
        fastrsa.rsa(*paths)
    assert str(remote.value) == str(local.value)


def test_views_of_memmaps_are_those_views_on_the_workers(client, small_tasks, tmp_path):
    X, Y = _spaces(1300, 20, 30, np.float64, seed=3)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", np.asfortranarray(Y))
    mx, my = np.load(tmp_path / "x.npy", mmap_mode="r"), np.load(tmp_path / "y.npy", mmap_mode="r")
    for vx, vy in ((mx[200:1300], my[200:1300]), (mx[::-1, 1:18], my[::-1]), (mx[100:1200, ::2], my[100:1200, 3:])):
        _same(fastrsa.rsa(vx, vy, client=client), fastrsa.rsa(np.array(vx), np.array(vy)))


# (method, null or route, tunables that choose it)
NULLS = [("spearman", "square", {}), ("pearson", "gram", {"PERMUTATION_CALL_COST": 0, "GATHER_COST": 10**6})]


@pytest.mark.parametrize("method, null, tunables", NULLS)
def test_permutation_test_on_the_cluster_is_the_local_result(client, monkeypatch, method, null, tunables):
    for name, value in tunables.items():
        monkeypatch.setattr(_tuning, name, value)
    X, Y = _spaces(60, 8, 12, np.float64, seed=5)
    plan = fastrsa.plan(fastrsa.permutation_test, X, Y, method, permutations=1000, seed=3, client=client)
    assert plan.choices["null"] == null and plan.choices["tasks"].count == 8  # (batches of 128 draws)
    remote = fastrsa.permutation_test(X, Y, method, permutations=1000, seed=3, keep_null=True, client=client)
    local = fastrsa.permutation_test(X, Y, method, permutations=1000, seed=3, keep_null=True)
    assert remote.statistic == local.statistic and remote.pvalue == local.pvalue
    assert np.array_equal(remote.null_distribution, local.null_distribution)


ROUTES = [("spearman", "pairs", {}), ("pearson", "weighted gram", {"RESAMPLE_CALL_COST": 0, "RESAMPLE_PAIR_COST": 10**6})]


@pytest.mark.parametrize("method, route, tunables", ROUTES)
def test_bootstrap_on_the_cluster_is_the_local_result(client, monkeypatch, method, route, tunables):
    for name, value in tunables.items():
        monkeypatch.setattr(_tuning, name, value)
    X, Y = _spaces(40, 8, 12, np.float64, seed=6)
    plan = fastrsa.plan(fastrsa.bootstrap_ci, X, Y, method, n_boot=700, seed=2, client=client)
    assert plan.choices["route"] == route and plan.choices["tasks"].count == 6
    remote = fastrsa.bootstrap_ci(X, Y, method, n_boot=700, seed=2, client=client)
    local = fastrsa.bootstrap_ci(X, Y, method, n_boot=700, seed=2)
    assert np.array_equal(remote.bootstrap_distribution, local.bootstrap_distribution)
    assert (remote.statistic, remote.low, remote.high) == (local.statistic, local.low, local.high)


@pytest.mark.parametrize("function, metric", [("rsm", "cosine"), ("rdm", "correlation"), ("rdm", "euclidean")])
def test_rsm_and_rdm_written_by_the_workers_are_the_local_file(client, small_tasks, tmp_path, function, metric):
    X, _ = _spaces(400, 12, 3, np.float32, seed=7)
    X[7] = X[3]  # (copies tie as in memory)
    call = getattr(fastrsa, function)
    local = call(X, metric, out=tmp_path / "local.npy")
    remote = call(X, metric, out=tmp_path / "remote.npy", client=client)
    returned = call(X, metric, client=client)  # (no file: the slices come back here)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_tuning, "ZARR_CHUNK", 3000)  # (chunks inside a task's slice and across two)
        chunked = call(X, metric, out=tmp_path / "remote.zarr", client=client)
    assert isinstance(remote, np.memmap) and remote.dtype == call(X, metric).dtype
    assert np.array_equal(local, remote) and np.array_equal(local, returned) and np.array_equal(local, chunked[:])
    assert remote[_pair(3, 9, 400)] == remote[_pair(7, 9, 400)]
    np.testing.assert_allclose(remote, call(X, metric), rtol=0, atol=1e-6)  # (float32)


def test_a_zarr_array_in_memory_is_refused_on_a_cluster(client):
    import zarr

    X, _ = _spaces(30, 4, 3, np.float64, seed=8)
    held = zarr.open_array(store={}, mode="w", shape=(435,), chunks=(100,), dtype="f8")  # (a memory store)
    with pytest.raises(ValueError, match="held in this process's memory"):
        fastrsa.rsm(X, out=held, client=client)
    np.testing.assert_allclose(fastrsa.rsm(X, out=held)[:], fastrsa.rsm(X), rtol=0, atol=1e-15)  # (here it is written)


def _pair(i, j, n):
    return i * n - i * (i + 1) // 2 + j - i - 1


def test_dask_arrays_are_read_in_row_chunks_on_the_workers(client, small_tasks):
    import dask.array as da

    X, Y = _spaces(1300, 16, 24, np.float64, seed=8)
    lazy_x, lazy_y = da.from_array(X, chunks=(333, 16)), da.from_array(Y, chunks=(500, 8))
    plan = fastrsa.plan(fastrsa.rsa, lazy_x, lazy_y, client=client)
    assert plan.choices["route"] == "gram" and plan.choices["tasks"].count == 6
    _same(fastrsa.rsa(lazy_x, lazy_y, client=client), fastrsa.rsa(X, Y))
    _same(fastrsa.rsa(lazy_x, Y, client=client), fastrsa.rsa(X, Y))  # (a NumPy partner is sent in the same chunks)
    _same(fastrsa.rsa(lazy_x, lazy_y, method="spearman", client=client), fastrsa.rsa(X, Y, method="spearman", exact=False))
    bad = X.copy()
    bad[1000, 3] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or inf \(first at row 1000, column 3\)"):
        fastrsa.rsa(da.from_array(bad, chunks=(400, 16)), lazy_y, client=client)
    bad[1000, 3] = 0.0
    bad[777] = 0.0
    with pytest.raises(ValueError, match="X row 777 is all zeros"):
        fastrsa.rsa(da.from_array(bad, chunks=(400, 16)), lazy_y, client=client)


def test_a_worker_of_two_threads_gives_the_same_bits(small_tasks):
    # (Each task takes one thread, BLAS's too, whatever the worker's threads.)
    environment = dict(os.environ)
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None, silence_logs=40)
    os.environ.clear()
    os.environ.update(environment)
    X, Y = _spaces(1500, 30, 45, np.float64, seed=9)
    with cluster, distributed.Client(cluster) as two_threads:
        _same(fastrsa.rsa(X, Y, client=two_threads), fastrsa.rsa(X, Y))
        _same(fastrsa.rsa(X[:600], Y[:600], method="spearman", client=two_threads),
              fastrsa.rsa(X[:600], Y[:600], method="spearman", exact=False))


def test_rsa_matrix_on_the_cluster_is_the_local_matrix(client, small_tasks):
    spaces = [_spaces(900, d, 5, np.float64, seed=d)[0] for d in (8, 12, 6)]
    local = fastrsa.rsa_matrix(spaces)
    plan = fastrsa.plan(fastrsa.rsa_matrix, spaces, client=client)
    assert plan.choices["route"] == "gram" and plan.choices["tasks"].count > 1
    assert "cluster" in plan.path
    assert np.array_equal(fastrsa.rsa_matrix(spaces, client=client).matrix, local.matrix)
    spearman = fastrsa.rsa_matrix(spaces[:2], method="spearman", client=client)  # (each cell binned on the cluster)
    _same(spearman.matrix[0, 1], fastrsa.rsa(spaces[0], spaces[1], method="spearman", exact=False))


def test_what_needs_every_pair_refuses_a_client(client):
    X, Y = _spaces(50, 5, 6, np.float64)
    for keywords in ({"method": "kendall"}, {"metric": "euclidean"}, {"method": "spearman", "exact": True}):
        with pytest.raises(ValueError, match="without client"):
            fastrsa.rsa(X, Y, client=client, **keywords)
    with pytest.raises(ValueError, match="not a dask.distributed.Client"):
        fastrsa.rsa(X, Y, client="tcp://127.0.0.1:8786")


def test_a_worker_killed_during_pass_2_changes_nothing(client, monkeypatch):
    monkeypatch.setattr(_tuning, "BINNED_TASK_PAIRS", 1 << 13)
    X, Y = _spaces(900, 60, 80, np.float64, seed=3)
    local = fastrsa.rsa(X, Y, method="spearman", exact=False)
    pids = client.run(os.getpid)
    outcome = {}

    def call():
        outcome["score"] = fastrsa.rsa(X, Y, method="spearman", client=client)

    caller = threading.Thread(target=call)
    caller.start()

    def rank_tasks(dask_scheduler):
        return sum("rank_task" in str(key) for key in dask_scheduler.tasks)

    deadline = time.monotonic() + 60
    while client.run_on_scheduler(rank_tasks) == 0 and caller.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert caller.is_alive(), "the call ended before pass 2 could be interrupted: make it longer"
    os.kill(next(iter(pids.values())), 9)  # (the nanny starts a new worker; the scheduler runs its tasks again)
    caller.join(120)
    assert not caller.is_alive()
    _same(outcome["score"], local)
    client.wait_for_workers(2, timeout=60)


def test_a_stopped_call_cancels_its_futures(client):
    from fastrsa import _dask

    executor = _dask.Dask(client)
    results = executor.map_serial(time.sleep, (), [(0.2,)] * 20)
    next(results)
    results.close()  # (what Ctrl-C does to the call's loop over its results)

    def left(dask_scheduler, prefix=executor.name):
        return [str(key) for key, task in dask_scheduler.tasks.items() if prefix in str(key) and task.state != "forgotten"]

    deadline = time.monotonic() + 10
    while client.run_on_scheduler(left) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.run_on_scheduler(left) == []


def test_an_input_shared_later_is_sent_with_its_first_task_and_once(client):
    import operator

    from fastrsa import _dask

    executor = _dask.Dask(client)
    a, b = np.arange(1 << 14, dtype=np.float64), np.ones(1 << 14)  # (large enough to be scattered)
    first, second = executor.share(a, later=True), executor.share(b, later=True)
    assert executor._shared == {}  # (nothing sent yet)
    items = [((first,), 0)] * 3 + [((first, second), 1)] * 3  # (a task takes the inputs before its own too)
    results = list(executor.map_serial(operator.getitem, (), items))  # (each task: its input, back from the worker)
    for got, want in zip(results, [a] * 3 + [b] * 3):
        np.testing.assert_array_equal(got, want)
    assert sorted(id(value) for value, _ in executor._shared.values()) == sorted([id(a), id(b)])  # (each sent once)
    assert all(type(future).__name__ == "Future" for _, future in executor._shared.values())


class _Done:
    def __init__(self, value):
        self.value = value

    def result(self):
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


class FutureCancelledError(Exception):  # (the name Dask's error has)
    pass


def test_a_task_that_lost_its_inputs_is_submitted_again_in_its_turn():
    from fastrsa import _tasks

    submitted = []

    def submit(index, item):  # (task 2's first try fails: its inputs were lost)
        submitted.append(index)
        lost = index == 2 and submitted.count(2) == 1
        return _Done(FutureCancelledError("lost dependencies") if lost else item * 10)

    cancelled = []
    retry = lambda error: isinstance(error, FutureCancelledError)  # noqa: E731
    assert list(_tasks.in_order(submit, [0, 1, 2, 3, 4], 2, cancelled.extend, retry)) == [0, 10, 20, 30, 40]
    assert sorted(submitted) == [0, 1, 2, 2, 3, 4] and cancelled == []
    submitted.clear()
    with pytest.raises(FutureCancelledError):  # (without a retry the error is the caller's)
        list(_tasks.in_order(submit, [0, 1, 2, 3, 4], 2, cancelled.extend))
    assert len(cancelled) == 2  # (the failed task and task 3, submitted ahead)

    def always_lost(index, item):
        return _Done(FutureCancelledError("lost dependencies"))

    with pytest.raises(FutureCancelledError):  # (not forever)
        list(_tasks.in_order(always_lost, [0], 1, cancelled.extend, retry))


def test_an_input_whose_last_copy_died_with_its_worker_is_sent_again(client):
    import operator

    from fastrsa import _dask

    executor = _dask.Dask(client)
    a = np.arange(1 << 14, dtype=np.float64)
    shared = executor.share(a)
    # Dask's memory manager keeps one copy of an input no pending task takes (as between two passes);
    # the worker that holds it dies: the input is lost, and a task that takes it fails unless sent again.
    client.replicate([shared], n=1)
    (holder,) = client.who_has([shared])[shared.key]
    os.kill(client.run(os.getpid)[holder], signal.SIGKILL)
    deadline = time.monotonic() + 60
    while shared.status == "finished" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert shared.status != "finished"
    results = list(executor.map_serial(operator.getitem, ((shared,),), [(0,)] * 4))
    for got in results:
        np.testing.assert_array_equal(got, a)
    # A task submitted with the lost copy before it was sent again fails later: that is still a loss to retry.
    assert executor._lost(FutureCancelledError("lost dependencies")) and not executor._lost(ValueError("bad"))
    client.wait_for_workers(2, timeout=60)


_INTERRUPTED = """
import json, os, sys, threading, time
import numpy as np, distributed, fastrsa

def live(dask_scheduler):  # (the call's tasks still queued or running on the scheduler)
    return [str(key) for key, task in dask_scheduler.tasks.items()
            if "fastrsa" in str(key) and task.state in ("released", "waiting", "queued", "no-worker", "processing")]

if __name__ == "__main__":
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=50)
    client = distributed.Client(cluster)
    X = np.random.default_rng(0).standard_normal((60_000, 8))
    tasks, fastrsa._tuning.BINNED_TASK_PAIRS = fastrsa._tuning.BINNED_TASK_PAIRS, 1 << 12
    fastrsa.rsa(X[:400], X[:400] + 1, "spearman", client=client)  # (every kernel loaded, or compiled, here and there)
    fastrsa._tuning.BINNED_TASK_PAIRS = tasks

    def watch():  # (says when the long call's tasks are running)
        while not client.run_on_scheduler(live):
            time.sleep(0.01)
        print("running", flush=True)

    threading.Thread(target=watch, daemon=True).start()
    try:
        fastrsa.rsa(X, X ** 2, "spearman", client=client)
    except KeyboardInterrupt:
        at = time.perf_counter()
        deadline = at + 10
        while client.run_on_scheduler(live) and time.perf_counter() < deadline:
            time.sleep(0.05)
        print(json.dumps({"interrupted": at, "cleared": time.perf_counter(), "left": client.run_on_scheduler(live)}),
              flush=True)
        client.close()
        cluster.close()
        sys.exit(130)
    print("finished", flush=True)
"""


def test_ctrl_c_on_a_cluster_call_stops_it_and_cancels_its_tasks(tmp_path):
    import json
    import signal

    script = tmp_path / "interrupted.py"  # (a file: the workers are spawned processes, which import __main__)
    script.write_text(_INTERRUPTED)
    child = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "running", child.stderr.read() if child.poll() is not None else ""
        time.sleep(0.5)  # (1.8 billion pairs, three passes: a minute or more from done)
        sent = time.perf_counter()
        child.send_signal(signal.SIGINT)  # (to the calling process only, as a terminal's Ctrl-C reaches its job)
        out, err = child.communicate(timeout=90)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, (out, err)
    figures = json.loads(out.splitlines()[-1])
    assert figures["interrupted"] - sent < 2.0, figures  # (the child's clock: CLOCK_MONOTONIC, shared)
    assert figures["left"] == [] and figures["cleared"] - figures["interrupted"] < 5.0, figures


def test_workers_load_the_kernels_from_the_cache(client, small_tasks):
    X, Y = _spaces(700, 30, 50, np.float64, seed=4)
    local = fastrsa.rsa(X, Y, method="spearman", exact=False)  # (compiled here, if not yet, and cached)
    client.restart()  # fresh worker processes: nothing compiled or loaded yet

    def compiled():
        from fastrsa._kernels import binned, normalize

        kernels = (binned.histogram_task, binned.rank_sums_task, normalize.normalize_rows_into)
        return {k.__name__: (sum(k.stats.cache_hits.values()), sum(k.stats.cache_misses.values())) for k in kernels}

    _same(fastrsa.rsa(X, Y, method="spearman", client=client), local)
    for worker, stats in client.run(compiled).items():
        for name, (hits, misses) in stats.items():
            assert misses == 0, (worker, name, "compiled on the worker")
        assert stats["rank_sums_task"][0] >= 1, (worker, "ran no task")


def test_import_fastrsa_does_not_import_dask_or_zarr():
    code = ("import sys, fastrsa; print(sorted({m.split('.')[0] for m in sys.modules} & {'dask', 'distributed', 'zarr'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_worker_thread_keeps_its_task_buffers_and_only_there():
    from fastrsa import _tasks

    def buffers():
        return [_tasks.buffer("test a", (4, 3)), _tasks.buffer("test a", (4, 3)), _tasks.buffer("test a", (5, 3)),
                _tasks.buffer("test a", (5, 3), np.float32), _tasks.buffer("test b", (5, 3), np.float32)]

    here = buffers()  # (here, as in the local executor's threads: a new array each time)
    assert here[0] is not here[1]

    def on_a_worker_thread():
        _tasks.keep_buffers()
        first = buffers()
        again = _tasks.buffer("test b", (5, 3), np.float32)
        return first, again

    with ThreadPoolExecutor(1) as pool:
        (a, same, longer, single, other), again = pool.submit(on_a_worker_thread).result()
    assert a is same and longer is not a and single is not longer and single.dtype == np.float32
    assert other is not single and again is other  # (kept by name, shape and dtype)
    assert getattr(_tasks._KEPT, "buffers", None) is None  # (this thread keeps none)
