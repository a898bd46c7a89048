"""Plots render with the Agg backend; without matplotlib they are skipped."""

import pathlib

import numpy as np
import pytest
from scipy.spatial.distance import pdist

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import fastrsa  # noqa: E402
from fastrsa import plot  # noqa: E402
from fastrsa.plot import plot_matrix, plot_rsa, plot_rsm  # noqa: E402

ROBUST = f"({plot._ordinal(plot.LOW_PERCENTILE)}–{plot._ordinal(plot.HIGH_PERCENTILE)} percentile of pairs)"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def robust_range(values):
    """The default colour limits, computed here from the values themselves."""
    return tuple(np.percentile(values, [plot.LOW_PERCENTILE, plot.HIGH_PERCENTILE]))


def cosines(X):
    return 1 - pdist(np.asarray(X, dtype=float), "cosine")


def grouped(rng, groups=4, size=10, dim=8):
    """Items in groups around their own centres: a heatmap of blocks."""
    centres = rng.standard_normal((groups, dim))
    return np.repeat(centres, size, axis=0) + 0.6 * rng.standard_normal((groups * size, dim))


def test_plot_rsm_draws_a_labelled_heatmap_with_a_colour_bar(rng, tmp_path):
    X = rng.standard_normal((12, 5))
    labels = [f"w{i}" for i in range(12)]
    figure = plot_rsm(X, labels=labels)
    heatmap, colour_bar = figure.axes
    image = heatmap.images[0].get_array()
    assert image.shape == (12, 12)
    np.testing.assert_allclose(image[0, 1:], fastrsa.rsm(X)[:11])
    assert [tick.get_text() for tick in heatmap.get_xticklabels()] == labels
    assert colour_bar.get_ylabel() == f"cosine similarity\n{ROBUST}"
    figure.savefig(tmp_path / "rsm.png")
    assert (tmp_path / "rsm.png").stat().st_size > 1000


def test_plot_rsm_colour_limits_are_percentiles_of_the_off_diagonal_pairs(rng):
    X = grouped(rng)
    for metric in ("cosine", "correlation"):
        figure = plot_rsm(X, metric=metric)
        expected = robust_range(1 - pdist(X, metric))
        np.testing.assert_allclose(figure.axes[0].images[0].get_clim(), expected, rtol=1e-6, atol=1e-9)
        assert expected[1] < 0.99  # (the diagonal's 1s would have set the top)
        assert figure.axes[1].get_ylabel() == f"{metric} similarity\n{ROBUST}"
    assert plot.LOW_PERCENTILE == 2 and plot.HIGH_PERCENTILE == 98


def test_plot_rsm_masks_the_diagonal_in_grey(rng):
    figure = plot_rsm(grouped(rng))
    image = figure.axes[0].images[0]
    mask = np.ma.getmaskarray(image.get_array())
    np.testing.assert_array_equal(mask, np.eye(40, dtype=bool))
    assert image.get_cmap().get_bad() == pytest.approx(matplotlib.colors.to_rgba(plot.DIAGONAL_COLOUR))
    assert image.get_cmap().name == "viridis"


def test_plot_rsm_takes_vmin_vmax_and_then_claims_no_percentiles(rng):
    X = grouped(rng)
    high = robust_range(cosines(X))[1]
    figure = plot_rsm(X, vmin=-0.25, vmax=0.75)
    assert figure.axes[0].images[0].get_clim() == (-0.25, 0.75)
    assert figure.axes[1].get_ylabel() == "cosine similarity"
    figure = plot_rsm(X, vmin=-0.25)  # the other limit stays robust, and the label says which
    assert figure.axes[0].images[0].get_clim() == pytest.approx((-0.25, high))
    assert figure.axes[1].get_ylabel() == "cosine similarity\n(to the 98th percentile of pairs)"
    assert plot_rsm(X, vmax=np.float32(0.5)).axes[0].images[0].get_clim()[1] == 0.5


@pytest.mark.parametrize(("options", "message"), [
    ({"vmin": 0.5, "vmax": 0.5}, "vmin must be less than vmax; got vmin=0.5, vmax=0.5"),
    ({"vmin": 1, "vmax": -1}, "vmin must be less than vmax"),
    ({"vmin": float("nan")}, "vmin must be finite"),
    ({"vmax": "high"}, "vmax must be a number or None"),
    ({"vmin": True}, "vmin must be a number"),
    ({"vmin": 5.0}, "vmin=5.0 is not below the default vmax"),
    ({"vmax": -5.0}, "vmax=-5.0 is not above the default vmin"),
    ({"cmap": "no-such-map"}, "cmap 'no-such-map' is not a matplotlib colour map"),
    ({"cmap": 3}, "cmap must be a colour map name"),
])
def test_bad_colour_options_raise_value_errors_naming_them(rng, options, message):
    X, Y = rng.standard_normal((10, 4)), rng.standard_normal((10, 3))
    result = fastrsa.rsa_matrix({"a": X, "b": Y, "c": X + Y[:, :1]})
    for draw in (lambda: plot_rsm(X, **options), lambda: plot_rsa(X, Y, **options),
                 lambda: plot_matrix(result, **options)):
        with pytest.raises(ValueError, match=message.replace("(", r"\(")):
            draw()


def test_plot_rsm_takes_a_cmap_without_changing_the_callers(rng):
    assert plot_rsm(rng.standard_normal((8, 3)), cmap="magma").axes[0].images[0].get_cmap().name == "magma"
    mine = matplotlib.colormaps["cividis"]
    before = mine.get_bad()
    image = plot_rsm(rng.standard_normal((8, 3)), cmap=mine).axes[0].images[0]
    assert image.get_cmap().name == "cividis"
    assert image.get_cmap().get_bad() == pytest.approx(matplotlib.colors.to_rgba(plot.DIAGONAL_COLOUR))
    assert mine.get_bad() == pytest.approx(before)


def test_plot_rsm_of_identical_items_gets_a_narrow_band_not_an_empty_range():
    image = plot_rsm(np.ones((4, 3))).axes[0].images[0]
    assert image.get_clim() == pytest.approx((0.95, 1.05))


def test_plot_rsm_subsamples_large_inputs_and_says_so(rng):
    X = rng.standard_normal((1000, 4))
    figure = plot_rsm(X, labels=[str(i) for i in range(1000)], max_items=100)
    heatmap = figure.axes[0]
    image = heatmap.images[0]
    assert image.get_array().shape == (100, 100)
    assert "(100 of 1,000 items, evenly spaced)" in heatmap.get_title()
    assert heatmap.get_xticklabels() == []  # too many to label
    # The limits come from the pairs shown, not from all 499,500.
    shown = np.linspace(0, 999, 100).round().astype(int)
    np.testing.assert_allclose(image.get_clim(), robust_range(cosines(X[shown])), rtol=1e-6)
    upper = np.triu_indices(100, 1)
    np.testing.assert_allclose(image.get_clim(), robust_range(image.get_array().data[upper]), rtol=1e-6)


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


def test_plot_rsa_gives_each_heatmap_its_own_robust_range_and_masked_diagonal(rng):
    X = rng.standard_normal((40, 8))
    Y = X + 4.0  # the same items, shifted: much higher cosines across the board
    figure = plot_rsa(X, Y)
    left, right = figure.axes[0].images[0], figure.axes[1].images[0]
    np.testing.assert_allclose(left.get_clim(), robust_range(cosines(X)), rtol=1e-6)
    np.testing.assert_allclose(right.get_clim(), robust_range(cosines(Y)), rtol=1e-6)
    assert right.get_clim()[0] > left.get_clim()[1]  # one shared range would show Y as one flat colour
    for image in (left, right):
        np.testing.assert_array_equal(np.ma.getmaskarray(image.get_array()), np.eye(40, dtype=bool))
    labels = [ax.get_ylabel() for ax in figure.axes if ax.get_ylabel().startswith("cosine similarity")]
    assert labels == [f"cosine similarity\n{ROBUST}"] * 2  # a colour bar each
    # Given limits hold for both, and then the panels share them.
    figure = plot_rsa(X, Y, vmin=-0.2, vmax=1.0, cmap="magma")
    for ax in figure.axes[:2]:
        assert ax.images[0].get_clim() == (-0.2, 1.0) and ax.images[0].get_cmap().name == "magma"


def test_plot_rsa_names_its_panels_from_names_or_file_names(rng, tmp_path, monkeypatch):
    X = rng.standard_normal((20, 5))
    Y = X + rng.standard_normal((20, 5))

    def names_shown(figure):
        return [ax.get_title() for ax in figure.axes[:2]], figure.axes[2].get_xlabel(), figure.axes[2].get_ylabel()

    # As the command line calls it: the two files' paths.
    paths = (str(tmp_path / "glove.6B.300d.txt"), tmp_path / "sub" / "word2vec.bin")
    titles, x_label, y_label = names_shown(plot_rsa(X, Y, names=paths))
    assert titles == ["glove.6B.300d", "word2vec"]
    assert (x_label, y_label) == ("glove.6B.300d: cosine similarity", "word2vec: cosine similarity")
    figure = plot_rsa(X, Y, names=paths)
    assert figure._suptitle.get_text().startswith("RSA of glove.6B.300d and word2vec: pearson r = ")
    # A file in the working directory, named without a directory.
    monkeypatch.chdir(tmp_path)
    pathlib.Path("static.npz").write_bytes(b"")
    assert names_shown(plot_rsa(X, Y, names=("static.npz", "layer 2.5")))[0] == ["static", "layer 2.5"]
    # Two files of the same name keep their directories apart.
    assert names_shown(plot_rsa(X, Y, names=("run1/vectors.txt", "run2/vectors.txt")))[0] == [
        "run1/vectors", "run2/vectors"]
    # Plain names stay as they are; without names, X and Y.
    assert names_shown(plot_rsa(X, Y, names=("static", "contextual")))[0] == ["static", "contextual"]
    titles, x_label, y_label = names_shown(plot_rsa(X, Y))
    assert titles == ["X", "Y"] and x_label == "X: cosine similarity" and y_label == "Y: cosine similarity"
    with pytest.raises(ValueError, match="names must be two names"):
        plot_rsa(X, Y, names=("only one",))
    with pytest.raises(ValueError, match="names must be two names"):
        plot_rsa(X, Y, names="XY")


def test_plot_labels_must_match_the_items(rng):
    with pytest.raises(ValueError, match="labels has 2 entries for 5 items"):
        plot_rsm(rng.standard_normal((5, 3)), labels=["a", "b"])


def test_plot_matrix_writes_values_names_and_a_colour_bar(rng, tmp_path):
    X = rng.standard_normal((30, 6))
    spaces = {"a": X, "b": X + rng.standard_normal((30, 6)), "c": rng.standard_normal((30, 4))}
    result = fastrsa.rsa_matrix(spaces)
    figure = plot_matrix(result)
    heatmap, colour_bar = figure.axes
    np.testing.assert_array_equal(heatmap.images[0].get_array().data, result.matrix)
    texts = [text.get_text() for text in heatmap.texts]
    assert texts == [f"{value:.2f}" for value in result.matrix.ravel()]  # the diagonal's values too
    assert [tick.get_text() for tick in heatmap.get_yticklabels()] == ["a", "b", "c"]
    assert colour_bar.get_ylabel() == "pearson RSA (cosine)\n(2nd–98th percentile of off-diagonal cells)"
    tested = fastrsa.matrix_permutation_test(spaces, permutations=99, seed=0)
    starred = [text.get_text() for text in plot_matrix(tested).axes[0].texts]
    assert starred[1].endswith("*") and not starred[2].endswith("*")
    figure.savefig(tmp_path / "matrix.png")
    assert (tmp_path / "matrix.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="rsa_matrix"):
        plot_matrix(np.eye(3))


def test_plot_matrix_masks_the_diagonal_and_scales_to_the_other_cells():
    result = fastrsa.rsa_matrix("tests/data/minilm-layers-500.npz")
    image = plot_matrix(result).axes[0].images[0]
    square = np.eye(7, dtype=bool)
    np.testing.assert_array_equal(np.ma.getmaskarray(image.get_array()), square)
    off_diagonal = result.matrix[~square]
    np.testing.assert_allclose(image.get_clim(), robust_range(off_diagonal))
    assert image.get_clim()[1] < 0.96  # not the diagonal's 1
    # The values stay readable: dark text on the light cells, light text on the dark ones.
    texts = plot_matrix(result).axes[0].texts
    darkest, lightest = np.unravel_index(np.argmin(result.matrix), (7, 7)), (2, 3)
    assert texts[darkest[0] * 7 + darkest[1]].get_color() == "white"
    assert texts[lightest[0] * 7 + lightest[1]].get_color() == "black"
    # Given limits and colour map win.
    image = plot_matrix(result, vmin=0.0, vmax=1.0, cmap="magma").axes[0].images[0]
    assert image.get_clim() == (0.0, 1.0) and image.get_cmap().name == "magma"
    assert plot_matrix(result, vmin=0.0, vmax=1.0).axes[1].get_ylabel() == "pearson RSA (cosine)"


def test_plot_matrix_of_other_columns_masks_nothing(rng):
    X = rng.standard_normal((30, 6))
    result = fastrsa.rsa_matrix({"a": X}, {"b": X + rng.standard_normal((30, 6)), "c": rng.standard_normal((30, 4)),
                                           "d": X + 0.1 * rng.standard_normal((30, 6))})
    figure = plot_matrix(result)
    image = figure.axes[0].images[0]
    assert not np.ma.getmaskarray(image.get_array()).any()
    np.testing.assert_allclose(image.get_clim(), robust_range(result.matrix.ravel()))
    assert figure.axes[1].get_ylabel() == "pearson RSA (cosine)\n(2nd–98th percentile of cells)"
