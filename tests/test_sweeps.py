"""rsa_matrix: every cell against rsa() and the reference, every route,
method and metric, every kind of collection, and its refusals."""

import pathlib

import numpy as np
import pytest

import fastrsa
import fastrsa.reference as reference
from fastrsa import _memory, sweeps

from .helpers import DTYPES, SCORE_TOL

LAYERS = pathlib.Path(__file__).parent / "data" / "minilm-layers-500.npz"
METHODS = ["pearson", "spearman", "kendall", "tau-a"]
METRICS = ["cosine", "correlation", "euclidean", "sqeuclidean"]


def spaces_of(rng, n, widths, dtype):
    """Spaces over the same n items that share structure (each a noisy map of one base)."""
    base = rng.standard_normal((n, 6))
    return [(base @ rng.standard_normal((6, d)) + rng.standard_normal((n, d))).astype(dtype) for d in widths]


def loop(rows, columns, method, metric):
    """The matrix as a loop over rsa()."""
    return np.array([[fastrsa.rsa(X, Y, method=method, metric=metric) for Y in columns] for X in rows])


def route(spaces, others=None, method="pearson", metric="cosine"):
    return fastrsa.plan(fastrsa.rsa_matrix, spaces, others, method, metric).choices["route"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("metric", METRICS)
def test_every_cell_is_rsa(rng, dtype, method, metric):
    spaces = spaces_of(rng, 40, [5, 9, 3], dtype)
    result = fastrsa.rsa_matrix(spaces, method=method, metric=metric)
    assert result.matrix.dtype == np.float64 and result.matrix.shape == (3, 3)
    expected = loop(spaces, spaces, method, metric)
    np.fill_diagonal(expected, 1.0)
    # Pearson of similarities by the Gram route: rsa's sums taken in another order.
    tolerance = 1e-12 if (method, dtype) != ("pearson", np.float32) else SCORE_TOL[np.float32]
    np.testing.assert_allclose(result.matrix, expected, rtol=0, atol=tolerance)
    assert np.array_equal(np.diag(result.matrix), np.ones(3))
    assert np.array_equal(result.matrix, result.matrix.T)
    for i in range(3):
        for j in range(i + 1, 3):
            float64 = [space.astype(np.float64) for space in (spaces[i], spaces[j])]
            oracle = reference.rsa(*float64, method=method, metric=metric)
            assert abs(result.matrix[i, j] - oracle) < SCORE_TOL[dtype]


def test_routes(rng):
    few_features = spaces_of(rng, 200, [4, 6], np.float64)
    many_features = spaces_of(rng, 30, [50, 60], np.float64)
    assert route(few_features) == sweeps.GRAM  # (N D^2 below the pairs' N^2 D)
    assert route(many_features) == sweeps.VECTORS
    assert route(many_features, method="spearman") == sweeps.VECTORS
    assert route(few_features, metric="euclidean") == sweeps.VECTORS


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_vectors_route_for_pearson_and_spearman_is_bit_for_bit_or_close(rng, method):
    spaces = spaces_of(rng, 60, [40, 70, 55], np.float64)
    assert route(spaces, method=method) == sweeps.VECTORS
    result = fastrsa.rsa_matrix(spaces, method=method)
    expected = loop(spaces, spaces, method, "cosine")
    np.fill_diagonal(expected, 1.0)
    if method == "pearson":  # (the same vectors and the same moments as rsa's pairs path)
        assert np.array_equal(result.matrix, expected)
    else:
        np.testing.assert_allclose(result.matrix, expected, rtol=0, atol=1e-13)


def test_ties_rank_as_rsa_ranks_them(rng):
    """Binary features: most pairs tie; every rank method's cell equals rsa's."""
    spaces = [np.hstack([np.ones((30, 1)), rng.random((30, d)) < 0.3]) for d in (4, 5, 6)]  # (no row of zeros)
    for method in ["spearman", "kendall", "tau-a"]:
        result = fastrsa.rsa_matrix(spaces, method=method)
        expected = loop(spaces, spaces, method, "cosine")
        np.fill_diagonal(expected, 1.0)
        np.testing.assert_allclose(result.matrix, expected, rtol=0, atol=1e-13)


def test_cells_route_where_kept_vectors_do_not_fit(rng, monkeypatch):
    spaces = spaces_of(rng, 300, [8, 12, 10], np.float64)
    plan = fastrsa.plan(fastrsa.rsa_matrix, spaces, method="spearman")
    assert plan.choices["route"] == sweeps.VECTORS
    # Room for one cell's pairs, not for three kept vectors.
    one_cell = fastrsa.plan(fastrsa.rsa, spaces[0], spaces[1], "spearman").memory_bytes
    assert one_cell < plan.memory_bytes
    monkeypatch.setattr(_memory, "_UNCHECKED", 0)
    monkeypatch.setattr(_memory, "available_bytes", lambda: _memory._OVERHEAD + (one_cell + plan.memory_bytes) // 2)
    cells = fastrsa.plan(fastrsa.rsa_matrix, spaces, method="spearman")
    assert cells.choices["route"] == sweeps.CELLS and cells.fits
    result = fastrsa.rsa_matrix(spaces, method="spearman")
    monkeypatch.undo()
    expected = loop(spaces, spaces, "spearman", "cosine")
    np.fill_diagonal(expected, 1.0)
    np.testing.assert_allclose(result.matrix, expected, rtol=0, atol=1e-13)


def test_gram_route_memory_is_independent_of_n(rng):
    widths = [16, 24]
    figures = [sweeps._gram.spaces_memory_bytes(widths, n, False, [(0, 1)]) for n in (64 * 4096, 10**6, 10**8)]  # (blocks of GRAM_BLOCK rows from 64 of them)
    assert figures[0] == figures[1] == figures[2] < 64 * 2**20
    large = [np.broadcast_to(rng.standard_normal(d), (300_000, d)) for d in widths]  # (read-only views: no copy)
    plan = fastrsa.plan(fastrsa.rsa_matrix, large)
    assert plan.choices["route"] == sweeps.GRAM and plan.memory_bytes == figures[0]


def test_others_gives_the_rectangle(rng):
    rows = spaces_of(rng, 50, [5, 7], np.float64)
    columns = spaces_of(rng, 50, [3, 4, 9], np.float64)
    for method in ["pearson", "spearman"]:
        result = fastrsa.rsa_matrix(rows, columns, method=method)
        assert result.matrix.shape == (2, 3)
        assert result.row_names == ("0", "1") and result.column_names == ("0", "1", "2")
        np.testing.assert_allclose(result.matrix, loop(rows, columns, method, "cosine"), rtol=0, atol=1e-12)


def test_the_same_space_in_rows_and_columns_scores_exactly_one(rng):
    X, Y = spaces_of(rng, 40, [5, 6], np.float64)
    result = fastrsa.rsa_matrix({"x": X, "y": Y}, {"y": Y, "x again": X})
    assert result.matrix[0, 1] == 1.0 and result.matrix[1, 0] == 1.0
    assert result.matrix[0, 0] == pytest.approx(fastrsa.rsa(X, Y), abs=1e-12)


def test_collections_of_every_kind(rng, tmp_path):
    spaces = spaces_of(rng, 40, [6, 6, 6], np.float64)
    expected = fastrsa.rsa_matrix(spaces).matrix
    stacked = np.stack(spaces)
    for value in (tuple(spaces), stacked, {"a": spaces[0], "b": spaces[1], "c": spaces[2]}):
        assert np.array_equal(fastrsa.rsa_matrix(value).matrix, expected)
    assert fastrsa.rsa_matrix({"a": spaces[0], "b": spaces[1], "c": spaces[2]}).row_names == ("a", "b", "c")
    path = tmp_path / "spaces.npz"
    np.savez(path, first=spaces[0], second=spaces[1], words=np.array(["w"] * 40))
    from_file = fastrsa.rsa_matrix(path)
    assert from_file.row_names == ("first", "second")
    assert np.array_equal(from_file.matrix, expected[:2, :2])
    # A 3-D array in a file: one space an entry, named by the strings of that length.
    layered = tmp_path / "layers.npz"
    np.savez(layered, hidden=stacked, layers=np.array(["in", "mid", "out"]), words=np.array(["w"] * 40))
    assert fastrsa.rsa_matrix(str(layered)).row_names == ("in", "mid", "out")
    np.savez(layered, hidden=stacked)
    assert fastrsa.rsa_matrix(layered).row_names == ("hidden[0]", "hidden[1]", "hidden[2]")


def test_real_layer_sweep_against_rsa():
    """The shipped MiniLM layers (500 words): every cell equals rsa, Spearman within 1e-12."""
    with np.load(LAYERS) as data:
        hidden, names = data["hidden"], tuple(data["layers"])
    result = fastrsa.rsa_matrix(LAYERS, method="spearman")
    assert result.row_names == names == ("embeddings", "layer1", "layer2", "layer3", "layer4", "layer5", "layer6")
    expected = loop(list(hidden), list(hidden), "spearman", "cosine")
    np.fill_diagonal(expected, 1.0)
    np.testing.assert_allclose(result.matrix, expected, rtol=0, atol=1e-12)
    pearson = fastrsa.rsa_matrix(hidden)
    expected = loop(list(hidden), list(hidden), "pearson", "cosine")
    np.fill_diagonal(expected, 1.0)
    np.testing.assert_allclose(pearson.matrix, expected, rtol=0, atol=1e-12)
    # Layers next to each other are the most alike.
    off = pearson.matrix + np.diag(np.full(7, -np.inf))
    assert all(abs(int(np.argmax(row)) - k) == 1 for k, row in enumerate(off))


def test_result_reads_as_a_labelled_table(rng):
    spaces = {"a": spaces_of(rng, 30, [4], np.float64)[0], "b": spaces_of(rng, 30, [5], np.float64)[0]}
    result = fastrsa.rsa_matrix(spaces)
    assert np.array_equal(np.asarray(result), result.matrix)
    frame = result.to_pandas()
    assert list(frame.index) == ["a", "b"] and list(frame.columns) == ["a", "b"]
    assert frame.loc["a", "b"] == result.matrix[0, 1]
    text = str(result)
    assert text.splitlines()[0].split() == ["a", "b"] and f"{result.matrix[0, 1]:.4f}" in text
    assert "MatrixResult 2x2 pearson" in repr(result)


def test_inputs_are_not_modified(rng):
    spaces = spaces_of(rng, 40, [5, 7], np.float32)
    copies = [space.copy() for space in spaces]
    for method in METHODS:
        fastrsa.rsa_matrix(spaces, method=method)
    assert all(np.array_equal(space, copy) for space, copy in zip(spaces, copies))


def test_refusals(rng, tmp_path):
    X, Y = spaces_of(rng, 20, [4, 5], np.float64)
    with pytest.raises(ValueError, match="one space"):
        fastrsa.rsa_matrix(X)
    with pytest.raises(ValueError, match="spaces is empty"):
        fastrsa.rsa_matrix([])
    with pytest.raises(ValueError, match=r"spaces\['b'\] has 19"):
        fastrsa.rsa_matrix({"a": X, "b": Y[:19]})
    with pytest.raises(ValueError, match=r"others\['z'\] has 10"):
        fastrsa.rsa_matrix([X], {"z": Y[:10]})
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"spaces\[1\]"):
        fastrsa.rsa_matrix([X, bad])
    with pytest.raises(ValueError, match="method"):
        fastrsa.rsa_matrix([X, Y], method="cosine")
    with pytest.raises(ValueError, match="metric='cosine'"):
        fastrsa.rsa_matrix([X, Y], method="cka", metric="euclidean")
    with pytest.raises(ValueError, match="no such file"):
        fastrsa.rsa_matrix(tmp_path / "missing.npz")
    words = tmp_path / "words.npz"
    np.savez(words, words=np.array(["a", "b"]))
    with pytest.raises(ValueError, match="no 2-D or 3-D numeric array"):
        fastrsa.rsa_matrix(words)
    with pytest.raises(ValueError, match="zero variance"):
        fastrsa.rsa_matrix([X, np.ones((20, 3)) + np.eye(20, 3) * 0], method="pearson", metric="euclidean")


def test_one_space_is_a_one_by_one_matrix(rng):
    (X,) = spaces_of(rng, 20, [4], np.float64)
    result = fastrsa.rsa_matrix([X], method="spearman")
    assert result.matrix.tolist() == [[1.0]]


def test_cka_matrix_is_cka_of_each_pair(rng):
    spaces = spaces_of(rng, 50, [5, 7, 9], np.float64)
    result = fastrsa.rsa_matrix(spaces, method="cka")
    assert route(spaces, method="cka") == sweeps.CKA
    expected = np.array([[fastrsa.cka(X, Y) for Y in spaces] for X in spaces])
    np.fill_diagonal(expected, 1.0)
    np.testing.assert_allclose(result.matrix, expected, rtol=0, atol=1e-12)
    assert np.array_equal(np.diag(result.matrix), np.ones(3))
    rectangle = fastrsa.rsa_matrix(spaces[:1], spaces[1:], method="cka")
    np.testing.assert_allclose(rectangle.matrix, expected[:1, 1:], rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["pearson", "spearman"])
@pytest.mark.parametrize("alternative", ["greater", "two-sided", "less"])
def test_matrix_permutation_test_against_a_loop_with_the_same_draws(rng, method, alternative):
    from fastrsa import stats

    spaces = spaces_of(rng, 25, [4, 6, 5], np.float64)
    spaces[2] = rng.standard_normal((25, 5))  # (one space unrelated to the others)
    result = fastrsa.matrix_permutation_test(spaces, method=method, permutations=60, alternative=alternative, seed=7, keep_null=True)
    assert np.array_equal(result.statistic.matrix, fastrsa.rsa_matrix(spaces, method=method).matrix)
    root = np.random.SeedSequence(7)
    draws = np.concatenate(list(stats._permutations(25, 60, root)))
    signed = {"greater": lambda v: v, "less": lambda v: -v, "two-sided": np.abs}[alternative]
    nulls = {}
    for i in range(3):
        for j in range(i + 1, 3):
            nulls[i, j] = np.array([fastrsa.rsa(spaces[i], spaces[j][p], method=method) for p in draws])
            np.testing.assert_allclose(result.null_distribution[:, i, j], nulls[i, j], rtol=0, atol=1e-12)
            single = fastrsa.permutation_test(spaces[i], spaces[j], method, permutations=60, alternative=alternative, seed=7)
            assert result.pvalues[i, j] == result.pvalues[j, i] == single.pvalue
    null_max = np.max([signed(null) for null in nulls.values()], axis=0)
    np.testing.assert_allclose(result.null_max, null_max, rtol=0, atol=1e-12)
    for (i, j), null in nulls.items():
        observed = signed(result.statistic.matrix[i, j])
        expected = (np.count_nonzero(null_max >= observed - stats.TIE_TOLERANCE) + 1) / 61
        assert result.familywise_pvalues[i, j] == expected
        assert result.familywise_pvalues[i, j] >= result.pvalues[i, j] or alternative != "greater"
    assert np.isnan(np.diag(result.pvalues)).all()


def test_matrix_permutation_test_rectangle_and_refusals(rng):
    rows = spaces_of(rng, 20, [4, 5], np.float64)
    columns = spaces_of(rng, 20, [3], np.float64)
    result = fastrsa.matrix_permutation_test(rows, columns, permutations=30, seed=1)
    assert result.pvalues.shape == (2, 1) and not np.isnan(result.pvalues).any()
    for i in range(2):
        single = fastrsa.permutation_test(rows[i], columns[0], permutations=30, alternative="greater", seed=1)
        assert result.pvalues[i, 0] == single.pvalue
    frames = result.to_pandas()
    assert [frame.shape for frame in frames] == [(2, 1)] * 3
    with pytest.raises(ValueError, match="method"):
        fastrsa.matrix_permutation_test(rows, method="kendall")
    with pytest.raises(ValueError, match="permutations"):
        fastrsa.matrix_permutation_test(rows, permutations=0)
    with pytest.raises(ValueError, match="alternative"):
        fastrsa.matrix_permutation_test(rows, alternative="bigger")


def test_labelled_rows_are_matched_as_rsa_matches_them(rng):
    pandas = pytest.importorskip("pandas")
    X, Y = spaces_of(rng, 30, [5, 6], np.float64)
    words = [f"w{i}" for i in range(30)]
    frame_x = pandas.DataFrame(X, index=words)
    frame_y = pandas.DataFrame(Y, index=words).iloc[rng.permutation(30)]
    expected = fastrsa.rsa(frame_x, frame_y)
    assert fastrsa.rsa_matrix([frame_x, frame_y]).matrix[0, 1] == pytest.approx(expected, abs=1e-12)
    assert fastrsa.rsa_matrix([frame_x, frame_y], method="cka").matrix[0, 1] == pytest.approx(fastrsa.cka(frame_x, frame_y), abs=1e-12)
    other = pandas.DataFrame(Y, index=[f"v{i}" for i in range(30)])
    with pytest.raises(ValueError, match="labels"):
        fastrsa.rsa_matrix([frame_x, other])


def test_a_converted_space_on_both_sides_is_still_itself(rng):
    X, Y = spaces_of(rng, 30, [5, 6], np.float64)
    counts = np.round(10 * X).astype(np.int16) + 50  # (converted to float64 when checked)
    result = fastrsa.rsa_matrix([counts, Y], [counts])
    assert result.matrix[0, 0] == 1.0
    assert result.matrix[1, 0] == pytest.approx(fastrsa.rsa(counts, Y), abs=1e-12)


def test_several_layer_arrays_in_one_file_keep_distinct_names(rng, tmp_path):
    stacked = np.stack(spaces_of(rng, 20, [4, 4], np.float64))
    np.savez(tmp_path / "two.npz", model_a=stacked, model_b=stacked + 1, layers=np.array(["in", "out"]))
    assert fastrsa.rsa_matrix(tmp_path / "two.npz").row_names == ("model_a:in", "model_a:out", "model_b:in", "model_b:out")
    with pytest.raises(ValueError, match="no spaces"):
        fastrsa.rsa_matrix(np.empty((0, 20, 3)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", METHODS + ["cka"])
def test_three_items(rng, dtype, method):
    spaces = spaces_of(rng, 3, [2, 4, 3], dtype)
    result = fastrsa.rsa_matrix(spaces, method=method)
    score = fastrsa.cka if method == "cka" else lambda X, Y: fastrsa.rsa(X, Y, method=method)
    expected = np.array([[score(X, Y) for Y in spaces] for X in spaces])
    np.fill_diagonal(expected, 1.0)
    np.testing.assert_allclose(result.matrix, expected, rtol=0, atol=1e-12 if dtype == np.float64 else SCORE_TOL[np.float32])


def test_gram_route_takes_only_the_spaces_its_cells_take(rng):
    X, Y = spaces_of(rng, 300, [5, 6], np.float64)
    plan = fastrsa.plan(fastrsa.rsa_matrix, [X, Y], [X])
    assert plan.choices["route"] == sweeps.GRAM and "over 2 spaces" in plan.path
    assert plan.memory_bytes == fastrsa.plan(fastrsa.rsa_matrix, [X, Y]).memory_bytes
    assert fastrsa.rsa_matrix([X, Y], [X]).matrix[1, 0] == pytest.approx(fastrsa.rsa(X, Y), abs=1e-14)
