"""Plots render with the Agg backend; without matplotlib they are skipped."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import fastrsa  # noqa: E402
from fastrsa.plot import plot_rsa, plot_rsm  # noqa: E402


def test_plot_rsm_draws_a_labelled_heatmap_with_a_colour_bar(rng, tmp_path):
    X = rng.standard_normal((12, 5))
    labels = [f"w{i}" for i in range(12)]
    figure = plot_rsm(X, labels=labels)
    heatmap, colour_bar = figure.axes
    image = heatmap.images[0].get_array()
    assert image.shape == (12, 12)
    np.testing.assert_allclose(image[0, 1:], fastrsa.rsm(X)[:11])
    assert [tick.get_text() for tick in heatmap.get_xticklabels()] == labels
    assert colour_bar.get_ylabel() == "cosine similarity"
    figure.savefig(tmp_path / "rsm.png")
    assert (tmp_path / "rsm.png").stat().st_size > 1000


def test_plot_rsm_subsamples_large_inputs_and_says_so(rng):
    figure = plot_rsm(rng.standard_normal((1000, 4)), labels=[str(i) for i in range(1000)], max_items=100)
    heatmap = figure.axes[0]
    assert heatmap.images[0].get_array().shape == (100, 100)
    assert "(100 of 1000 items, evenly spaced)" in heatmap.get_title()
    assert heatmap.get_xticklabels() == []  # too many to label


def test_plot_rsm_draws_into_a_given_axes(rng):
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots()
    assert plot_rsm(rng.standard_normal((5, 3)), ax=ax) is figure


def test_plot_rsa_puts_r_in_the_title(rng):
    X = rng.standard_normal((40, 6))
    Y = X + 0.5 * rng.standard_normal((40, 6))
    figure = plot_rsa(X, Y, labels=[str(i) for i in range(40)])
    r = fastrsa.rsa(X, Y)
    assert f"r = {r:.4f}" in figure._suptitle.get_text()
    scatter = figure.axes[2].collections[0].get_offsets()
    assert len(scatter) == 40 * 39 // 2


def test_plot_labels_must_match_the_items(rng):
    with pytest.raises(ValueError, match="labels has 2 entries for 5 items"):
        plot_rsm(rng.standard_normal((5, 3)), labels=["a", "b"])


def test_plot_matrix_writes_values_names_and_a_colour_bar(rng, tmp_path):
    from fastrsa.plot import plot_matrix

    X = rng.standard_normal((30, 6))
    spaces = {"a": X, "b": X + rng.standard_normal((30, 6)), "c": rng.standard_normal((30, 4))}
    result = fastrsa.rsa_matrix(spaces)
    figure = plot_matrix(result)
    heatmap, colour_bar = figure.axes
    np.testing.assert_array_equal(heatmap.images[0].get_array(), result.matrix)
    texts = [text.get_text() for text in heatmap.texts]
    assert texts == [f"{value:.2f}" for value in result.matrix.ravel()]
    assert [tick.get_text() for tick in heatmap.get_yticklabels()] == ["a", "b", "c"]
    assert colour_bar.get_ylabel() == "pearson RSA (cosine)"
    tested = fastrsa.matrix_permutation_test(spaces, permutations=99, seed=0)
    starred = [text.get_text() for text in plot_matrix(tested).axes[0].texts]
    assert starred[1].endswith("*") and not starred[2].endswith("*")
    figure.savefig(tmp_path / "matrix.png")
    assert (tmp_path / "matrix.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="rsa_matrix"):
        plot_matrix(np.eye(3))
