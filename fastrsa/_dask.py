"""fastrsa's tasks on a ``dask.distributed`` cluster (``client=``).

Imported only when a call is given a client: ``import fastrsa`` never
imports dask.  The tasks are the same functions the call runs here
(``fastrsa._tasks``): each is submitted as a future, runs on one of a
worker's threads (``_threads.one_thread``: one Numba thread, one BLAS
thread), and its result comes back to the client, where the call adds the
results in task order.  So the answer is the local one bit for bit, whatever
the workers, their threads or the order the tasks finish in.

- **Inputs.**  NumPy arrays are scattered to every worker once per call
  (``share``: ``Client.scatter(broadcast=True)``), so a task takes a
  reference, not a copy; a space on disk (a ``.npy`` path or memmap) travels
  as its file's name and is memory-mapped again on the worker (every worker
  must see the file at that path); small values go with the task.
- **Memory.**  At most ``window`` tasks are in flight (twice the cluster's
  threads), so the client holds at most that many partial results, and a
  worker those of the tasks it runs; each task's memory is the plan's
  ``memory per task``.
- **Faults.**  A worker that dies takes its running tasks with it; Dask
  runs them again elsewhere (the scattered inputs are on every worker), and
  since a task is a pure function of its inputs the result is the same.
- **Ctrl-C** (or any error) cancels the call's futures.
"""

import uuid

import numpy as np

from . import _threads

# Arrays at least this large are scattered once per call; smaller ones go
# with each task (a scatter costs a round trip; a few KB per task cost less).
_SCATTER_BYTES = 1 << 16


def _run(function, *arguments):
    """A task on a worker: on the worker's thread alone."""
    with _threads.one_thread():
        return function(*arguments)


class Dask:
    """Tasks on a ``dask.distributed`` cluster through ``client``."""

    distributed = True

    def __init__(self, client):
        self.client = client
        self.name = f"fastrsa-{uuid.uuid4().hex[:12]}"
        self._count = 0
        threads = sum(client.nthreads().values()) or 1
        self.threads = threads
        self.window = max(2 * threads, 4)

    def share(self, value, whole=False):
        """A shared input as the tasks take it: a large array, or with
        ``whole`` any object, scattered to every worker once (a future);
        anything else as it is (a space on disk pickles as its file's name)."""
        if whole:
            return self.client.scatter(value, broadcast=True, hash=False)
        if isinstance(value, tuple):  # (a tuple of inputs: each shared; futures inside are resolved on the worker)
            return tuple(self.share(item) for item in value)
        if isinstance(value, np.ndarray) and not isinstance(value, np.memmap) and value.nbytes >= _SCATTER_BYTES:
            return self.client.scatter(value, broadcast=True, hash=False)
        return value

    def map_serial(self, function, shared, items):
        """``function(*shared, *item)`` for each item as a task on the
        cluster; results in task order."""
        items = list(items)
        pending = {}
        prefix = f"{self.name}-{function.__name__}-{self._count}"
        self._count += 1
        try:
            for k in range(len(items)):
                while len(pending) < self.window and k + len(pending) < len(items):
                    index = k + len(pending)
                    pending[index] = self.client.submit(
                        _run, function, *shared, *items[index], key=f"{prefix}-{index}", pure=False
                    )
                future = pending.pop(k)
                result = future.result()
                future.release()
                yield result
        finally:
            if pending:
                self.client.cancel(list(pending.values()))

    # On a worker every task takes one thread: the parallel tasks too.
    map_parallel = map_serial
