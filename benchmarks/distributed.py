"""The report's rows on a Dask cluster, against the local call.

    OPENBLAS_CORETYPE=Haswell python -m benchmarks.distributed [--quick] [--output docs/benchmarks-distributed.md]

Each configuration runs in a fresh process (``--row NAME``), in turns, 10 s
apart (the last row's cluster processes gone: run straight after one
another, the next row's Pearson call on 2 workers took 20 s instead of 14.8):
the local call on Numba's threads, then LocalClusters of 2 and 1 worker
processes with 1 thread each.  Each takes a warm-up call on a small input
(workers load the kernels from the Numba cache) and one timed call on the
full input (minutes: measured once); the Pearson rows' files are read
through first (``_in_page_cache``).  On the cluster the task stream
(``Client.get_task_stream``) gives the time the workers spent inside tasks;
the rest of the wall time, on all threads, is the overhead of running them
as tasks (submitting, sending inputs and results, adding them up here).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .data import correlated_spaces

ROOT = Path(__file__).resolve().parents[1]
FILES = Path(os.environ.get("FASTRSA_BENCH_DIR", "/tmp/fastrsa-bench"))


def _client(workers):
    import distributed

    cluster = distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    )
    return distributed.Client(cluster)


def _timed(call, client=None):
    if client is not None:
        client.get_task_stream()  # (clears nothing; the stream is read from here on)
    start_stamp = time.time()
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    busy = None
    if client is not None:
        stream = client.get_task_stream(start=start_stamp)
        busy = sum(s["stop"] - s["start"] for task in stream for s in task["startstops"] if s["action"] == "compute")
    return seconds, busy, result


def _spearman(n, workers):
    import fastrsa

    X, Y = correlated_spaces(n, dtype=np.float32)
    client = _client(workers) if workers else None
    fastrsa.rsa(X[:700], Y[:700], "spearman", exact=False, client=client)  # (warm-up)
    seconds, busy, score = _timed(lambda: fastrsa.rsa(X, Y, "spearman", exact=False, client=client), client)
    tasks = fastrsa.plan(fastrsa.rsa, X, Y, "spearman", exact=False, client=client).choices["tasks"].count
    return {"seconds": seconds, "busy": busy, "score": float(score), "tasks": tasks, "threads": workers or _threads()}


def _files(n):
    """Two float32 .npy spaces of n items (300-d and 768-d), written once."""
    FILES.mkdir(parents=True, exist_ok=True)
    paths = [FILES / f"x-{n}.npy", FILES / f"y-{n}.npy"]
    if not all(p.exists() for p in paths):
        block = 50_000
        x = np.lib.format.open_memmap(paths[0], "w+", np.float32, (n, 300))
        y = np.lib.format.open_memmap(paths[1], "w+", np.float32, (n, 768))
        for start in range(0, n, block):
            a, b = correlated_spaces(min(block, n - start), dtype=np.float32, seed=start)
            x[start : start + len(a)], y[start : start + len(b)] = a, b
        x.flush(), y.flush()
        del x, y
    return [str(p) for p in paths]


def _in_page_cache(paths):
    """Read each file through once, so that the timed call reads them from
    the page cache, as its row says (this machine reclaims idle page cache:
    straight after the Spearman rows, the first Pearson row took 20.3 s on
    2 workers, against 11.5-11.8 s with the files just read)."""
    chunk = bytearray(1 << 26)
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while f.readinto(chunk):
                pass


def _pearson_files(n, workers):
    import fastrsa

    paths = _files(n)
    _in_page_cache(paths)
    client = _client(workers) if workers else None
    small = [np.load(p, mmap_mode="r")[:3000] for p in paths]
    fastrsa.rsa(np.array(small[0]), np.array(small[1]), client=client)  # (warm-up)
    seconds, busy, score = _timed(lambda: fastrsa.rsa(*paths, client=client), client)
    return {"seconds": seconds, "busy": busy, "score": float(score), "threads": workers or _threads()}


def _threads():
    import numba

    return numba.get_num_threads()


def rows(quick):
    spearman_n, pearson_n = (4000, 40_000) if quick else (30_000, 1_000_000)
    return {
        "spearman local": (_spearman, spearman_n, 0),
        "spearman 2 workers": (_spearman, spearman_n, 2),
        "spearman 1 worker": (_spearman, spearman_n, 1),
        "pearson .npy 2 workers": (_pearson_files, pearson_n, 2),
        "pearson .npy 1 worker": (_pearson_files, pearson_n, 1),
        "pearson .npy local": (_pearson_files, pearson_n, 0),
    }


def _run_row(name, quick):
    function, n, workers = rows(quick)[name]
    out = function(n, workers)
    out["n"] = n
    print(json.dumps(out))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--row")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    if args.row:
        return _run_row(args.row, args.quick)
    results = {}
    for name in rows(args.quick):
        time.sleep(0 if args.quick else 10)  # (the last row's cluster processes gone, the machine quiet)
        command = [sys.executable, "-m", "benchmarks.distributed", "--row", name] + (["--quick"] if args.quick else [])
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
        print(name, results[name], flush=True)
    text = render(results, args.quick)
    print(text)
    if args.output:
        args.output.write_text(text)


def _overhead(row):
    """The share of the call's thread-seconds not spent inside tasks."""
    return 1.0 - row["busy"] / (row["seconds"] * row["threads"])


def render(r, quick):
    from .machine import blas_in_use

    s_local, s_two, s_one = r["spearman local"], r["spearman 2 workers"], r["spearman 1 worker"]
    p_local, p_two, p_one = r["pearson .npy local"], r["pearson .npy 2 workers"], r["pearson .npy 1 worker"]
    same = s_local["score"] == s_two["score"] == s_one["score"] and p_local["score"] == p_two["score"] == p_one["score"]
    lines = [
        "# Benchmarks on a Dask cluster",
        "",
        f"Written by `python -m benchmarks.distributed{' --quick' if quick else ''}` on {time.strftime('%Y-%m-%d')}: one run, "
        "each configuration in its own process in turn, one timed call each after a warm-up (the calls take minutes). "
        "LocalClusters of worker processes with 1 thread each, on this 2-core machine; the local call on Numba's "
        f"{s_local['threads']} threads. BLAS: {'; '.join(blas_in_use())}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}.",
        "",
        "| case | N | configuration | s | tasks a pass | in tasks (thread-s) | overhead |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, row in (("local, 2 threads", s_local), ("2 workers x 1 thread", s_two), ("1 worker x 1 thread", s_one)):
        busy = "" if row["busy"] is None else f"{row['busy']:.1f}"
        over = "" if row["busy"] is None else f"{100 * _overhead(row):.1f} %"
        lines.append(f"| binned Spearman, float32 300-d vs 768-d | {row['n']:,} | {label} | {row['seconds']:.1f} | {row['tasks']} | {busy} | {over} |")
    for label, row in (("local, 2 threads", p_local), ("2 workers x 1 thread", p_two), ("1 worker x 1 thread", p_one)):
        busy = "" if row["busy"] is None else f"{row['busy']:.1f}"
        over = "" if row["busy"] is None else f"{100 * _overhead(row):.1f} %"
        lines.append(f"| Pearson from two .npy files in the page cache, float32 | {row['n']:,} | {label} | {row['seconds']:.1f} | | {busy} | {over} |")
    targets = [
        ("binned Spearman, 2 workers x 1 thread: <= 1.25x the local 2-thread call", f"{s_two['seconds'] / s_local['seconds']:.2f}x", s_two["seconds"] <= 1.25 * s_local["seconds"]),
        ("binned Spearman, 2 workers against 1: >= 1.7x faster", f"{s_one['seconds'] / s_two['seconds']:.2f}x", s_one["seconds"] >= 1.7 * s_two["seconds"]),
        ("Pearson from .npy, 2 workers against 1: >= 1.6x faster", f"{p_one['seconds'] / p_two['seconds']:.2f}x", p_one["seconds"] >= 1.6 * p_two["seconds"]),
        ("task overhead <= 5 % of the call (binned Spearman, 2 workers)", f"{100 * _overhead(s_two):.1f} %", _overhead(s_two) <= 0.05),
    ]
    lines += ["", "| target | measured | met |", "| --- | --- | --- |"]
    lines += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in targets]
    lines += ["", f"Scores equal bit for bit across the three configurations of each case: {'yes' if same else '**no**'}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
