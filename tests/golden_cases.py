"""Fixed calls of every public entry point and path, whose results are
recorded in tests/data/golden.json: a change that should not move any score,
p-value, interval or condensed vector (a refactor, a new dispatch) must give
them bit for bit.  Regenerate only when a result is meant to change:

    python -m tests.golden_cases --write

and say in the commit why it changed.  Recorded, and checked, with
OpenBLAS's ``KERNEL`` (``OPENBLAS_CORETYPE``): tests/test_golden.py says why.

The tiles' products (``_kernels/tiles.tile_products_into``) are summed in
vector lanes the compiler lays out for the CPU's vector unit, so their last
bits differ between CPUs with AVX-512 and those with AVX2 only: the results
are recorded once per layout, keyed by ``fingerprint()`` (a digest of those
products on a fixed input), the layouts of ``TARGETS`` that this CPU can
run (Numba's ``NUMBA_CPU_NAME``).
"""

import hashlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

import fastrsa

GOLDEN = Path(__file__).parent / "data" / "golden.json"
KERNEL = "Haswell"  # OpenBLAS's kernel of the recording: it runs on every AVX2 machine
# Numba's CPU names whose vector layouts are recorded ("host": this CPU's own).
TARGETS = ("host", "haswell", "skylake-avx512")


def _space(seed, n, d, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(dtype)


def _related(seed, X, d, noise=1.0):
    """A space over X's items that shares some of its structure."""
    rng = np.random.default_rng(seed)
    return X @ rng.standard_normal((X.shape[1], d)) + noise * rng.standard_normal((X.shape[0], d))


def _words():
    """The first 400 words of the shipped MiniLM sample, both spaces (float32)."""
    return tuple(fastrsa.sample_embeddings(space).vectors[:400] for space in ("static", "contextual"))


def _with_nan(X, rows):
    X = np.array(X, dtype=np.float64)
    X[rows, 0] = np.nan
    return X


def cases():
    """``{name: thunk}``: each thunk makes its inputs and calls fastrsa."""
    small, small_y = _space(1, 40, 12), None
    small_y = _related(2, small, 9)
    mid = _space(3, 300, 20)
    mid_y = _related(4, mid, 30)
    blocks = _space(5, 1200, 40)  # n^2 d past the small-product threshold: row blocks
    blocks_y = _related(6, blocks, 24, noise=2.0)
    tall = _space(7, 3000, 4)  # many items, few features: the Gram identity
    tall_y = _related(8, tall, 3)
    integers = np.random.default_rng(9).integers(0, 3, size=(60, 7))
    integers_y = np.random.default_rng(10).integers(0, 2, size=(60, 5))
    integers[:, 0], integers_y[:, :2] = 3, (0, 1)  # no constant row
    copies = np.repeat(_space(11, 15, 6), 3, axis=0)
    vector_a, vector_b = fastrsa.rdm(mid), fastrsa.rdm(mid_y, "euclidean")
    words_a, words_b = _words()
    out = {}
    for method in ("pearson", "spearman", "kendall", "tau-a"):
        for metric in ("cosine", "correlation", "euclidean", "sqeuclidean"):
            out[f"rsa small {method} {metric}"] = lambda m=method, k=metric: fastrsa.rsa(small, small_y, m, k)
        out[f"rsa integers {method} correlation"] = lambda m=method: fastrsa.rsa(integers, integers_y, m, "correlation")
        out[f"rsa copies {method} cosine"] = lambda m=method: fastrsa.rsa(copies, copies[:, ::-1] + 1, m)
        out[f"compare {method}"] = lambda m=method: fastrsa.compare(vector_a, vector_b, m)
    for method in ("pearson", "spearman"):
        out[f"rsa blocks {method}"] = lambda m=method: fastrsa.rsa(blocks, blocks_y, m)
        out[f"rsa blocks {method} euclidean"] = lambda m=method: fastrsa.rsa(blocks, blocks_y, m, "euclidean")
        out[f"rsa float32 {method}"] = lambda m=method: fastrsa.rsa(mid.astype(np.float32), mid_y.astype(np.float32), m)
        out[f"rsa mixed dtypes {method}"] = lambda m=method: fastrsa.rsa(mid.astype(np.float32), mid_y, m)
        out[f"rsa words {method}"] = lambda m=method: fastrsa.rsa(words_a, words_b, m)
        out[f"split_half {method}"] = lambda m=method: fastrsa.split_half(words_a, method=m)
        out[f"split_half random {method}"] = lambda m=method: fastrsa.split_half(mid_y, "random", m, seed=3)
    out["rsa tall pearson (gram)"] = lambda: fastrsa.rsa(tall, tall_y)
    out["rsa tall pearson correlation (gram)"] = lambda: fastrsa.rsa(tall, tall_y, metric="correlation")
    out["rsa nan omit"] = lambda: fastrsa.rsa(_with_nan(small, [3, 7]), small_y, "spearman", nan_policy="omit")
    out["compare nan omit"] = lambda: fastrsa.compare(_with_nan(vector_a[:, None], [5, 90])[:, 0], vector_b, nan_policy="omit")
    for method in ("pearson", "spearman"):
        for alternative in ("two-sided", "greater", "less"):
            out[f"mantel {method} {alternative}"] = lambda m=method, a=alternative: fastrsa.mantel(
                vector_a, vector_b, m, permutations=99, alternative=a, seed=1, keep_null=True
            )
        out[f"mantel small {method}"] = lambda m=method: fastrsa.mantel(
            fastrsa.rdm(small), fastrsa.rdm(small_y), m, permutations=199, seed=2, keep_null=True
        )
        out[f"mantel nan omit {method}"] = lambda m=method: fastrsa.mantel(
            _with_nan(vector_a[:, None], [5, 90])[:, 0], vector_b, m, permutations=49, seed=3, keep_null=True, nan_policy="omit"
        )
        for metric in ("cosine", "euclidean"):
            out[f"permutation_test {method} {metric}"] = lambda m=method, k=metric: fastrsa.permutation_test(
                mid, mid_y, m, k, permutations=99, seed=4, keep_null=True
            )
            out[f"bootstrap_ci {method} {metric}"] = lambda m=method, k=metric: fastrsa.bootstrap_ci(
                small, small_y, m, k, n_boot=200, seed=5
            )
        out[f"bootstrap_ci words {method}"] = lambda m=method: fastrsa.bootstrap_ci(words_a[:150], words_b[:150], m, n_boot=50, seed=6)
        out[f"permutation_test nan omit {method}"] = lambda m=method: fastrsa.permutation_test(
            _with_nan(small, [0]), small_y, m, permutations=49, seed=7, keep_null=True, nan_policy="omit"
        )
    out["permutation_test tall (gram null)"] = lambda: fastrsa.permutation_test(tall, tall_y, permutations=20, seed=8, keep_null=True)
    out["permutation_test small correlation"] = lambda: fastrsa.permutation_test(
        small, small_y, metric="correlation", permutations=99, seed=9, keep_null=True
    )
    for metric in ("cosine", "correlation"):
        out[f"rsm {metric}"] = lambda k=metric: fastrsa.rsm(mid, k)
        out[f"rsm float32 {metric}"] = lambda k=metric: fastrsa.rsm(mid.astype(np.float32), k)
        out[f"rsm blocks {metric}"] = lambda k=metric: fastrsa.rsm(blocks, k)
        out[f"rsm integers {metric}"] = lambda k=metric: fastrsa.rsm(integers, k)
    for metric in ("cosine", "correlation", "euclidean", "sqeuclidean"):
        out[f"rdm {metric}"] = lambda k=metric: fastrsa.rdm(mid, k)
        out[f"rdm copies {metric}"] = lambda k=metric: fastrsa.rdm(copies, k)
    out["normalize_rows"] = lambda: fastrsa.normalize_rows(mid)
    return out


def _digest(array):
    array = np.ascontiguousarray(array)
    return f"{array.dtype.str}{list(array.shape)}:{hashlib.sha256(array.tobytes()).hexdigest()[:32]}"


def record(value):
    """A JSON-able, exact record of a result: floats as hex, arrays as their
    dtype, shape and digest, result objects field by field."""
    if isinstance(value, float):
        return value.hex()
    if isinstance(value, np.ndarray):
        return _digest(value)
    if isinstance(value, (fastrsa.PermutationResult, fastrsa.BootstrapResult)):
        fields = [name for name in value.__dataclass_fields__ if name != "omitted_items" and not name.startswith("_")]
        return {name: record(getattr(value, name)) for name in fields} | {"omitted_items": record(value.omitted_items)}
    if isinstance(value, (int, str)) or value is None:
        return value
    raise TypeError(f"no record for {type(value).__name__}")


def fingerprint():
    """A digest of the tiles' products and the rows' sums of squares on a
    fixed input, float32 and float64: which vector layout compiled them."""
    from fastrsa._kernels.normalize import squares_of
    from fastrsa._kernels.tiles import tile_products_into

    digest = hashlib.sha256()
    for dtype in (np.float32, np.float64):
        X = _space(99, 13, 301, dtype)
        products = np.zeros((13, 13), dtype)
        tile_products_into(X, 0, 13, 0, 13, products)
        digest.update(np.triu(products).tobytes())
        digest.update(np.array([squares_of(row) for row in X]).tobytes())
    return digest.hexdigest()[:16]


def results():
    """``{"fingerprint": ..., "results": {case: record}}`` of this process."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastrsa.OmittedWarning)
        return {"fingerprint": fingerprint(), "results": {name: record(thunk()) for name, thunk in cases().items()}}


def child(target=None, cache=None):
    """``results()`` from a child process under OpenBLAS's ``KERNEL`` (and
    Numba's CPU ``target``, compiling into ``cache``); a RuntimeError with
    the child's errors where it failed."""
    env = dict(os.environ, OPENBLAS_CORETYPE=KERNEL)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env.pop(name, None)  # (the machine's own thread counts, as recorded)
    if target is not None:
        env.update(NUMBA_CPU_NAME=target, NUMBA_CACHE_DIR=cache)
    code = "import json; from tests.golden_cases import results; print(json.dumps(results()))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[1], timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"the golden cases failed in a child process (target {target or 'host'}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    import tempfile

    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.golden_cases --write")
    recorded = {}
    for target in TARGETS:
        with tempfile.TemporaryDirectory() as cache:  # (a target's own compilations: minutes)
            try:
                found = child(None if target == "host" else target, cache)
            except RuntimeError as error:  # (a CPU name whose instructions this CPU lacks)
                print(f"{target}: not run on this CPU ({str(error).splitlines()[-1]})")
                continue
        recorded[found["fingerprint"]] = found["results"]
        print(f"{target}: layout {found['fingerprint']}")
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}: {len(recorded)} layouts")
