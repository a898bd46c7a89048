"""Spaces on disk (issue 19, item 5): np.memmap arrays and paths to .npy
files give the in-memory results bit for bit, are checked a block of rows
at a time with the in-memory errors, are never written to, and the Gram
path holds a few blocks of them, not the files (measured in a child
process, as tests/test_plan_memory.py measures)."""

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fastrsa
from fastrsa import _tuning
from tests.helpers import DTYPES, correlated_spaces
from tests.test_plan_memory import MIB, _ROOT, _can_measure, within


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 16 rows: every on-disk call below reads several."""
    monkeypatch.setattr(_tuning, "GRAM_BLOCK", 16)


def _saved(tmp_path, name, array):
    path = tmp_path / f"{name}.npy"
    np.save(path, array)
    return path


def _three_ways(tmp_path, X, Y):
    """(in memory, .npy paths as str and Path, memmaps)."""
    px, py = _saved(tmp_path, "x", X), _saved(tmp_path, "y", Y)
    return [(X, Y), (str(px), py), (np.load(px, mmap_mode="r"), np.load(py, mmap_mode="r"))]


@pytest.mark.parametrize("dtype", DTYPES)
def test_rsa_and_rdm_from_disk_equal_in_memory_bit_for_bit(tmp_path, rng, dtype, small_blocks):
    X, Y = correlated_spaces(rng, 61, 7, 5, dtype)
    ways = _three_ways(tmp_path, X, Y)
    for method in ("pearson", "spearman"):
        for metric in ("cosine", "correlation", "euclidean"):
            expected = fastrsa.rsa(X, Y, method, metric)
            for a, b in ways[1:]:
                assert fastrsa.rsa(a, b, method, metric) == expected, (method, metric, type(a))
            assert fastrsa.rsa(ways[2][0], Y, method, metric) == expected  # one on disk, one in memory
    assert fastrsa.plan(fastrsa.rsa, *ways[1]).choices["route"] == "gram"
    for metric in ("cosine", "euclidean"):
        for a, _ in ways[1:]:
            np.testing.assert_array_equal(fastrsa.rdm(a, metric), fastrsa.rdm(X, metric))
            assert fastrsa.rdm(a, metric).dtype == fastrsa.rdm(X, metric).dtype
    np.testing.assert_array_equal(fastrsa.rsm(ways[1][0]), fastrsa.rsm(X))
    assert fastrsa.split_half(ways[2][0], method="spearman") == fastrsa.split_half(X, method="spearman")
    np.testing.assert_array_equal(fastrsa.normalize_rows(ways[1][0]), fastrsa.normalize_rows(X))


@pytest.mark.parametrize("dtype", DTYPES)
def test_inference_from_disk_equals_in_memory_bit_for_bit(tmp_path, rng, dtype, small_blocks):
    # 2,000 items of 4 and 5 features: the Gram null; 40 of 30 and 25: the pairs' null.
    for n, d1, d2 in ((2000, 4, 5), (40, 30, 25)):
        X, Y = correlated_spaces(rng, n, d1, d2, dtype)
        ways = _three_ways(tmp_path, X, Y)
        for method in ("pearson", "spearman"):
            kwargs = dict(method=method, seed=3)
            test = fastrsa.permutation_test(X, Y, permutations=19, keep_null=True, **kwargs)
            boot = fastrsa.bootstrap_ci(X, Y, n_boot=9, **kwargs)
            for a, b in ways[1:]:
                on_disk = fastrsa.permutation_test(a, b, permutations=19, keep_null=True, **kwargs)
                assert (on_disk.statistic, on_disk.pvalue) == (test.statistic, test.pvalue)
                np.testing.assert_array_equal(on_disk.null_distribution, test.null_distribution)
                resampled = fastrsa.bootstrap_ci(a, b, n_boot=9, **kwargs)
                assert (resampled.statistic, resampled.low, resampled.high) == (boot.statistic, boot.low, boot.high)
                np.testing.assert_array_equal(resampled.bootstrap_distribution, boot.bootstrap_distribution)
        null = fastrsa.plan(fastrsa.permutation_test, *ways[1], permutations=19).choices["null"]
        assert null == ("gram" if n == 2000 else "square")


def test_vectors_from_disk_for_compare_and_mantel(tmp_path, rng):
    X, Y = correlated_spaces(rng, 30, 6, 4)
    a, b = fastrsa.rdm(X), fastrsa.rdm(Y)
    pa, pb = _saved(tmp_path, "a", a), _saved(tmp_path, "b", b)
    for method in ("pearson", "spearman", "kendall"):
        assert fastrsa.compare(pa, np.load(pb, mmap_mode="r"), method) == fastrsa.compare(a, b, method)
    expected = fastrsa.mantel(a, b, permutations=99, seed=1)
    assert tuple(fastrsa.mantel(str(pa), str(pb), permutations=99, seed=1)) == tuple(expected)


@pytest.mark.parametrize(
    "convert",
    [
        lambda X: np.asfortranarray(X),
        lambda X: X.astype(np.float16),
        lambda X: np.rint(X * 10).astype(np.int32),
        lambda X: X.astype(">f4"),
    ],
    ids=["fortran", "float16", "int32", "big-endian"],
)
def test_other_layouts_and_dtypes_on_disk_convert_as_in_memory(tmp_path, rng, convert, small_blocks):
    X, Y = correlated_spaces(rng, 45, 6, 4)
    X2 = convert(X)
    path = _saved(tmp_path, "x", X2)
    for method in ("pearson", "spearman"):
        assert fastrsa.rsa(path, Y, method) == fastrsa.rsa(X2, Y, method)
    assert fastrsa.split_half(path) == fastrsa.split_half(X2)
    assert fastrsa.permutation_test(path, Y, permutations=9, seed=0).statistic == fastrsa.rsa(X2, Y)


def test_a_view_of_a_memmap_pickles_as_that_view(tmp_path, rng):
    import pickle

    from fastrsa import _sources

    X = rng.standard_normal((500, 6))
    mapped = np.load(_saved(tmp_path, "x", X), mmap_mode="r")
    fortran = np.load(_saved(tmp_path, "f", np.asfortranarray(X)), mmap_mode="r")
    views = [mapped, mapped[120:430], mapped[:, 1:4], mapped[::-3], mapped[::-1, ::-1], fortran[40:90], fortran[:, ::2]]
    for view in views:
        for dtype in (np.float64, np.float32):
            rows = _sources.Rows(view, dtype, "X")
            again = pickle.loads(pickle.dumps(rows))  # (as a cluster's worker gets it)
            assert isinstance(again.array, np.memmap) and again.file == rows.file
            want = np.asarray(view, dtype)
            for got in (rows, again):
                np.testing.assert_array_equal(_sources.whole(got), want)
                buffer = _sources.block_buffer(got, 64)
                np.testing.assert_array_equal(_sources.block(got, 7, 71, buffer), want[7:71])
    # Rows that lie in the file as in memory are read from it; a copy-on-write memmap's changes are not
    # in the file, so it pickles as its values.
    assert _sources.Rows(mapped[120:430], np.float64, "X").read_at == mapped.offset + 120 * 6 * 8
    assert _sources.Rows(mapped[:, 1:4], np.float64, "X").read_at is None
    changed = np.load(tmp_path / "x.npy", mmap_mode="c")
    changed[3] = 7.0
    again = pickle.loads(pickle.dumps(_sources.Rows(changed, np.float64, "X")))
    assert not isinstance(again.array, np.memmap) and (again.array[3] == 7.0).all()


def test_a_file_cut_short_during_a_read_is_an_error_not_garbage(tmp_path, rng):
    from fastrsa import _sources

    path = _saved(tmp_path, "x", rng.standard_normal((300, 4)))
    rows = _sources.Rows(np.load(path, mmap_mode="r"), np.float64, "X")
    with open(path, "r+b") as f:
        f.truncate(128 + 200 * 4 * 8)
    buffer = _sources.block_buffer(rows, 64)
    np.testing.assert_array_equal(_sources.block(rows, 0, 64, buffer).shape, (64, 4))
    with pytest.raises(ValueError, match=r"X: the file .* ended before row 256"):
        _sources.block(rows, 192, 256, buffer)


def test_checks_run_block_by_block_with_the_in_memory_errors(tmp_path, rng, small_blocks):
    X, Y = correlated_spaces(rng, 60, 5, 4)
    zero, nan = X.copy(), X.copy()
    zero[40] = 0
    nan[50, 2] = np.nan
    both = zero.copy()
    both[50, 2] = np.nan  # NaN in a later block than the zero row: the NaN is named, as in memory
    cases = [(zero, "cosine", "row 40 is all zeros"), (nan, "cosine", "row 50, column 2"),
             (both, "cosine", "row 50, column 2"), (nan, "euclidean", "row 50, column 2")]
    constant = X.copy()
    constant[33] = 7.0
    cases.append((constant, "correlation", "row 33 is constant"))
    for array, metric, message in cases:
        path = _saved(tmp_path, "bad", array)
        with pytest.raises(ValueError, match=message) as in_memory:
            fastrsa.rsa(array, Y, metric=metric)
        for given in (path, np.load(path, mmap_mode="r")):
            with pytest.raises(ValueError, match=message) as on_disk:
                fastrsa.rsa(given, Y, metric=metric)
            assert str(on_disk.value).replace(" (in 'bad.npy')", "") == str(in_memory.value)
    with pytest.raises(ValueError, match="X has 2 rows"):
        fastrsa.rsa(_saved(tmp_path, "two", X[:2]), Y[:2])
    with pytest.raises(ValueError, match="X.shape\\[0\\] == 60 while Y.shape\\[0\\] == 59"):
        fastrsa.rsa(_saved(tmp_path, "x", X), _saved(tmp_path, "y", Y[:59]))


def test_nan_policy_omit_on_disk(tmp_path, rng, small_blocks):
    X, Y = correlated_spaces(rng, 50, 5, 4)
    X[[3, 37]] = np.nan
    path = _saved(tmp_path, "x", X)
    with pytest.warns(fastrsa.OmittedWarning, match="rows 3, 37"):
        on_disk = fastrsa.rsa(path, Y, nan_policy="omit")
    with pytest.warns(fastrsa.OmittedWarning):
        assert on_disk == fastrsa.rsa(X, Y, nan_policy="omit")
    X[[3, 37]] = 1.0
    assert fastrsa.rsa(_saved(tmp_path, "x", X), Y, nan_policy="omit") == fastrsa.rsa(X, Y)  # no NaN: streamed


def test_bad_files_are_refused_naming_the_argument_and_file(tmp_path, rng):
    X, Y = correlated_spaces(rng, 20, 5, 4)
    text = tmp_path / "x.txt"
    text.write_text("1 2 3\n")
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([[1, None, 3]] * 5, dtype=object), allow_pickle=True)
    cases = [
        (str(tmp_path / "missing.npy"), "X='.*missing.npy': no such file"),
        (text, "X='.*x.txt' is a path, but not to a .npy file"),
        (_saved(tmp_path, "flat", X.ravel()), "X='.*flat.npy' holds an array of shape \\(100,\\); expected"),
        (_saved(tmp_path, "complex", X.astype(complex)), "X='.*complex.npy' holds an array of dtype complex128"),
        (objects, "X='.*objects.npy' cannot be read as a .npy array of numbers"),
    ]
    for given, message in cases:
        with pytest.raises(ValueError, match=message):
            fastrsa.rsa(given, Y)
        with pytest.raises(ValueError, match=message):
            fastrsa.plan(fastrsa.bootstrap_ci, given, Y)
    with pytest.raises(ValueError, match="a='.*x.npy' holds an array of shape \\(20, 5\\); expected an array of shape \\(n_values,\\)"):
        fastrsa.compare(_saved(tmp_path, "x", X), fastrsa.rsm(X))
    with pytest.raises(ValueError, match="Y='.*missing.npy': no such file"):
        fastrsa.permutation_test(X, tmp_path / "missing.npy", nan_policy="omit")


def test_files_and_memmaps_are_never_written_to(tmp_path, rng):
    X, Y = correlated_spaces(rng, 40, 6, 4)
    X[5] *= 1e5
    px, py = _saved(tmp_path, "x", X), _saved(tmp_path, "y", Y)
    before = [hashlib.sha256(path.read_bytes()).hexdigest() for path in (px, py)]
    copy_on_write = np.load(px, mmap_mode="c")  # (writable in memory: never released, never written)
    for metric in ("cosine", "correlation", "euclidean", "sqeuclidean"):
        for method in ("pearson", "spearman"):
            fastrsa.rsa(px, py, method, metric)
            fastrsa.rsa(copy_on_write, py, method, metric)
        fastrsa.permutation_test(px, py, metric=metric, permutations=5, seed=0)
        fastrsa.bootstrap_ci(px, py, metric=metric, n_boot=5, seed=0)
    np.testing.assert_array_equal(copy_on_write, X)
    assert [hashlib.sha256(path.read_bytes()).hexdigest() for path in (px, py)] == before


def _defects(rng):
    """Spaces of 90 items, and (X, Y, metric, the error named) for each kind of defect, in X or Y or both."""
    X, Y = correlated_spaces(rng, 90, 5, 4)

    def changed(Z, *changes):
        Z = Z.copy()
        for index, value in changes:
            Z[index] = value
        return Z

    return X, Y, [
        (changed(X, (40, 0.0)), Y, "cosine", "X row 40 is all zeros"),
        (changed(X, ((70, 2), np.nan)), Y, "cosine", "X contains NaN or inf (first at row 70, column 2)"),
        # A NaN in a later task than the zero row is named, as in memory; X's defects before Y's.
        (changed(X, (20, 0.0), ((85, 1), np.inf)), Y, "cosine", "X contains NaN or inf (first at row 85, column 1)"),
        (changed(X, (61, 0.0)), changed(Y, ((3, 0), np.nan)), "cosine", "X row 61 is all zeros"),
        (X, changed(Y, ((3, 0), np.nan), (70, 0.0)), "cosine", "Y contains NaN or inf (first at row 3, column 0)"),
        (X, changed(Y, (88, 2.5)), "correlation", "Y row 88 is constant"),
        (changed(X, (5, 1.0), (50, 1.0)), Y, "correlation", "X row 5 is constant"),
    ]


@pytest.mark.parametrize("tasks", [False, True])
def test_two_files_are_checked_as_the_gram_pass_reads_them(tmp_path, rng, monkeypatch, tasks):
    from fastrsa import _gram

    monkeypatch.setattr(_tuning, "GRAM_BLOCK", 8)
    if tasks:  # (several tasks a pass, on threads: defects in different tasks)
        monkeypatch.setattr(_tuning, "GRAM_TASK_ROWS", 24)
    normalise = _gram.normalize_rows_into

    def checked_first(values, out, centre):  # (no kernel runs on values the checks refuse)
        usable = np.ptp(values, axis=1) if centre else np.any(values, axis=1)
        assert np.isfinite(values).all() and usable.all()
        return normalise(values, out, centre)

    monkeypatch.setattr(_gram, "normalize_rows_into", checked_first)
    X, Y, cases = _defects(rng)
    assert fastrsa.plan(fastrsa.rsa, _saved(tmp_path, "x", X), _saved(tmp_path, "y", Y)).choices["route"] == "gram"
    for bad_x, bad_y, metric, message in cases:
        px, py = _saved(tmp_path, "x", bad_x), _saved(tmp_path, "y", bad_y)
        with pytest.raises(ValueError) as in_memory:
            fastrsa.rsa(bad_x, bad_y, metric=metric)
        assert str(in_memory.value).startswith(message)
        plan = fastrsa.plan(fastrsa.rsa, px, py, metric=metric)  # (shapes checked; values as the call reads them)
        assert "their values checked as the first pass reads them" in plan.path
        for given in ((px, py), (np.load(px, mmap_mode="r"), np.load(py, mmap_mode="r"))):
            with pytest.raises(ValueError) as on_disk:
                fastrsa.rsa(*given, metric=metric)
            named = str(on_disk.value).replace(" (in 'x.npy')", "").replace(" (in 'y.npy')", "")
            assert named == str(in_memory.value)
    # Files whose plan takes another path are checked before it, as ever.
    bad_x, bad_y, metric, message = cases[0]
    with pytest.raises(ValueError, match=message.replace("X row", "X \\(in 'x.npy'\\) row")):
        fastrsa.rsa(_saved(tmp_path, "x", bad_x), _saved(tmp_path, "y", bad_y), method="spearman")
    np.testing.assert_equal(fastrsa.rsa(_saved(tmp_path, "x", X), _saved(tmp_path, "y", Y)), fastrsa.rsa(X, Y))


def test_the_plan_says_what_is_read_and_counts_the_copies(tmp_path, rng):
    X, Y = correlated_spaces(rng, 300, 20, 30, np.float32)
    px, py = _saved(tmp_path, "x", X), _saved(tmp_path, "y", Y)
    gram = fastrsa.plan(fastrsa.rsa, px, py)
    assert "reading X from 'x.npy' and Y from 'y.npy' a block of rows at a time" in gram.path
    rows = min(300, _tuning.GRAM_BLOCK)
    # Each space on disk adds its block buffer, read from the file; rows the file holds in another layout
    # (here big-endian) are copied from its mapping, and one block of its pages is resident until released.
    in_memory = fastrsa.plan(fastrsa.rsa, X, Y).memory_bytes
    assert gram.memory_bytes - in_memory == rows * (20 + 30) * 4
    swapped = fastrsa.plan(fastrsa.rsa, _saved(tmp_path, "xs", X.astype(">f4")), py)
    assert swapped.memory_bytes - in_memory == rows * (20 + 30) * 4 + rows * 20 * 4
    for function, kwargs in ((fastrsa.rsa, dict(method="spearman")), (fastrsa.bootstrap_ci, {})):
        pairs = fastrsa.plan(function, px, Y, **kwargs)
        assert "reading X from 'x.npy' whole into memory (the pairs need every row)" in pairs.path
        copy = 300 * 20 * (4 if kwargs else 8)  # (Pearson's pairs are float64: X is read into float64)
        assert pairs.memory_bytes - fastrsa.plan(function, X, Y, **kwargs).memory_bytes == copy


def test_load_embeddings_memory_maps_npz(tmp_path, rng):
    words = np.array([f"w{i}" for i in range(40)])
    vectors = rng.standard_normal((40, 6))
    path = tmp_path / "emb.npz"
    np.savez(path, words=words, vectors=vectors, small=vectors[:, :3].astype(np.float32))
    emb = fastrsa.load_embeddings(path, mmap=True)
    assert isinstance(emb.vectors, np.memmap) and not emb.vectors.flags.writeable
    assert emb.vectors.dtype == np.float64 and emb.words == list(words)
    np.testing.assert_array_equal(emb.vectors, vectors)
    small = fastrsa.load_embeddings(path, mmap=True, key="small", limit=30)
    assert small.vectors.dtype == np.float32 and small.vectors.shape == (30, 3)
    in_memory = fastrsa.load_embeddings(path, dtype=np.float64)
    assert fastrsa.rsa(emb, in_memory) == fastrsa.rsa(in_memory, in_memory)  # rows matched by word, streamed
    assert "a block of rows at a time" in fastrsa.plan(fastrsa.rsa, emb, emb).path
    compressed = tmp_path / "compressed.npz"
    np.savez_compressed(compressed, words=words, vectors=vectors)
    with pytest.raises(fastrsa.EmbeddingFileError, match="'vectors' is compressed .* save it with numpy.savez"):
        fastrsa.load_embeddings(compressed, mmap=True)
    with pytest.raises(ValueError, match="with mmap=True the vectors keep the dtype stored"):
        fastrsa.load_embeddings(path, mmap=True, dtype=np.float32)
    glove = tmp_path / "glove.txt"
    glove.write_text("a 1 2\nb 3 4\n")
    with pytest.raises(ValueError, match="mmap=True memory-maps the vectors of an .npz file"):
        fastrsa.load_embeddings(glove, mmap=True)
    np.savez(tmp_path / "twice.npz", words=np.array(["a", "b", "a"]), vectors=np.eye(3))
    with pytest.raises(fastrsa.EmbeddingFileError, match="1 repeated words"):
        fastrsa.load_embeddings(tmp_path / "twice.npz", mmap=True)


# The memory of the streamed Gram path, measured.

_CHILD = """
import json, sys
import numpy as np, fastrsa
from tests.test_plan_memory import _warm_blas, measured_bytes, predicted_bytes
x, y, warm_x, warm_y = sys.argv[1:]
_warm_blas()
fastrsa.rsa(warm_x, warm_y)
predicted = predicted_bytes(fastrsa.rsa, x, y)
rss, _, _ = measured_bytes(fastrsa.rsa, x, y)
print(json.dumps({"predicted": predicted, "rss": rss}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _can_measure(), reason="reads /proc/self/status (Linux)")
def test_pearson_rsa_from_files_holds_blocks_not_the_files(tmp_path):
    rng = np.random.default_rng(0)
    n = 200_000
    paths = []
    for name, rows, d in (("x", n, 64), ("y", n, 96), ("warm_x", 5000, 64), ("warm_y", 5000, 96)):
        path = tmp_path / f"{name}.npy"
        np.save(path, rng.standard_normal((rows, d), np.float32))
        paths.append(str(path))
    files = sum(os.path.getsize(path) for path in paths[:2])  # 128 MB
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")])),
               MALLOC_MMAP_THRESHOLD_=str(MIB), OPENBLAS_NUM_THREADS="1")
    child = subprocess.run([sys.executable, "-c", _CHILD, *paths], capture_output=True, text=True, env=env,
                           cwd=_ROOT, timeout=300)
    assert child.returncode == 0, child.stderr
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    predicted, rss = figures["predicted"], figures["rss"]
    # (Two tasks side by side, each with its block of rows as read, as unit rows, and their pages.)
    assert rss < files / 6, f"measured {rss / MIB:.1f} MiB for {files / MIB:.0f} MiB of files"
    assert predicted < files / 6 and within(predicted, rss), f"predicted {predicted / MIB:.1f}, measured {rss / MIB:.1f} MiB"


# rsm and rdm written to a file (out=), row range by row range -------------------


@pytest.mark.parametrize("function, metric", [
    ("rsm", "cosine"), ("rsm", "correlation"), ("rdm", "cosine"), ("rdm", "euclidean"), ("rdm", "sqeuclidean"),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [3, 300])
def test_rsm_and_rdm_written_to_a_file_are_the_vector_in_memory(tmp_path, monkeypatch, function, metric, dtype, n):
    monkeypatch.setattr(_tuning, "BINNED_TASK_PAIRS", 1 << 12)  # (several row ranges)
    monkeypatch.setattr(_tuning, "ROWS", 7)  # (blocks that end inside a task and short last columns)
    monkeypatch.setattr(_tuning, "COLUMNS", 13)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, 9)).astype(dtype)
    X[n - 1] = X[0]
    call = getattr(fastrsa, function)
    written = call(X, metric, out=str(tmp_path / "v.npy"))
    again = np.load(tmp_path / "v.npy")
    in_memory = call(X, metric)
    assert written.dtype == in_memory.dtype and np.array_equal(written, again)
    scale = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(written, in_memory, rtol=0, atol=scale * max(1.0, float(np.abs(in_memory).max())))
    np.testing.assert_allclose(written, reference_vector(function, X, metric), rtol=0, atol=10 * scale * max(1.0, float(np.abs(in_memory).max())))


def reference_vector(function, X, metric):
    from fastrsa import reference

    return reference.rsm(X, metric) if function == "rsm" else reference.rdm(X, metric)


def test_rdm_written_keeps_the_true_scale_of_extreme_distances(tmp_path):
    X = np.random.default_rng(2).standard_normal((50, 4)) * 1e160
    np.testing.assert_allclose(fastrsa.rdm(X, "euclidean", out=tmp_path / "d.npy"), fastrsa.rdm(X, "euclidean"), rtol=1e-14)


def test_a_bad_out_is_refused_before_any_work(tmp_path):
    X = np.random.default_rng(3).standard_normal((20, 3))
    for out, match in [(tmp_path / "v.txt", "ends in neither .npy nor .zarr"), (tmp_path / "no" / "v.npy", "no folder"),
                       (tmp_path / "no" / "v.zarr", "no folder"), (3, "is not supported")]:
        with pytest.raises(ValueError, match=match):
            fastrsa.rsm(X, out=out)
    assert not list(tmp_path.iterdir())


# ... or to a zarr array, whose chunks no two writers share --------------------


@pytest.mark.parametrize("function, metric", [("rsm", "cosine"), ("rdm", "correlation"), ("rdm", "euclidean")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chunk", [1 << 20, 4096, 1000, 97])
def test_a_zarr_array_written_is_the_npy_file(tmp_path, monkeypatch, function, metric, dtype, chunk):
    import zarr

    # (Tasks of 4,096 pairs or so: chunks longer than a task's slice, as long, across
    # two or three tasks, and many inside one.)
    monkeypatch.setattr(_tuning, "BINNED_TASK_PAIRS", 1 << 12)
    monkeypatch.setattr(_tuning, "ZARR_CHUNK", chunk)
    X = np.random.default_rng(4).standard_normal((300, 9)).astype(dtype)
    X[299] = X[0]
    call = getattr(fastrsa, function)
    expected = call(X, metric, out=str(tmp_path / "v.npy"))
    written = call(X, metric, out=tmp_path / "v.zarr")
    assert isinstance(written, zarr.Array) and written.read_only and written.chunks == (chunk,)
    assert written.dtype == expected.dtype and np.array_equal(written[:], expected)
    again = zarr.open_array(str(tmp_path / "v.zarr"), mode="r")
    assert np.array_equal(again[:], expected)


def test_a_zarr_array_given_is_written_in_place_shard_by_shard(tmp_path, monkeypatch):
    import zarr

    monkeypatch.setattr(_tuning, "BINNED_TASK_PAIRS", 1 << 12)
    X = np.random.default_rng(5).standard_normal((200, 6))
    expected = fastrsa.rdm(X, "euclidean")
    if hasattr(zarr, "create_array"):  # (zarr 3: chunks in shards, which writers must not share)
        given = zarr.create_array(str(tmp_path / "given.zarr"), shape=expected.shape, chunks=(500,), shards=(1500,),
                                  dtype=expected.dtype)
    else:  # (zarr 2, on Python 3.10: chunks alone)
        given = zarr.open_array(str(tmp_path / "given.zarr"), mode="w", shape=expected.shape, chunks=(1500,),
                                dtype=expected.dtype)
    returned = fastrsa.rdm(X, "euclidean", out=given)
    assert returned is given
    np.testing.assert_allclose(given[:], expected, rtol=1e-14, atol=0)
    assert "1,500 values a chunk" in str(fastrsa.plan(fastrsa.rdm, X, "euclidean", out=given))


def test_a_zarr_array_that_cannot_hold_the_vector_is_refused(tmp_path):
    import zarr

    X = np.random.default_rng(6).standard_normal((20, 3))  # (190 pairs, float64)
    def new(name, shape, dtype):
        return zarr.open_array(str(tmp_path / name), mode="w", shape=shape, chunks=shape, dtype=dtype)

    short, narrow, square = new("short.zarr", (189,), "f8"), new("narrow.zarr", (190,), "f4"), new("square.zarr", (20, 20), "f8")
    new("read.zarr", (190,), "f8")
    read_only = zarr.open_array(str(tmp_path / "read.zarr"), mode="r")
    for out, match in [(short, r"shape \(189,\).*takes shape \(190,\) and dtype float64"),
                       (narrow, "dtype float32 cannot hold"), (square, r"shape \(20, 20\)"), (read_only, "read-only")]:
        with pytest.raises(ValueError, match=match):
            fastrsa.rsm(X, out=out)
    assert not np.any(zarr.open_array(str(tmp_path / "read.zarr"), mode="r")[:])  # (nothing written)


def test_a_zarr_path_without_zarr_installed_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "zarr", None)  # (import zarr raises ImportError)
    X = np.random.default_rng(7).standard_normal((20, 3))
    with pytest.raises(ValueError, match=r"needs zarr \(pip install 'fastrsa\[zarr\]'\)"):
        fastrsa.rsm(X, out=tmp_path / "v.zarr")
    assert not list(tmp_path.iterdir())
