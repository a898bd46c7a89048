"""Batched small RSAs: rsa over a leading batch axis and compare over rows,
against the loop of single calls, every method and metric, float32 and float64."""

import numpy as np
import pytest

import fastrsa
import fastrsa.reference as reference
from fastrsa import _tuning

from .helpers import DTYPES, SCORE_TOL

METHODS = ["pearson", "spearman", "kendall", "tau-a"]
METRICS = ["cosine", "correlation", "euclidean", "sqeuclidean"]


def batch(rng, count, n, d, dtype):
    return rng.standard_normal((count, n, d)).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("n", [3, 9])
def test_batch_is_the_loop(rng, dtype, method, metric, n):
    Xs, Ys = batch(rng, 12, n, 4, dtype), batch(rng, 12, n, 6, dtype)
    Ys += Xs @ rng.standard_normal((4, 6)).astype(dtype)  # (scores away from 0)
    scores = fastrsa.rsa(Xs, Ys, method=method, metric=metric)
    assert scores.shape == (12,) and scores.dtype == np.float64
    loop = np.array([fastrsa.rsa(X, Y, method=method, metric=metric) for X, Y in zip(Xs, Ys)])
    tolerance = 1e-12 if dtype == np.float64 else SCORE_TOL[np.float32]
    np.testing.assert_allclose(scores, loop, rtol=0, atol=tolerance)
    oracle = [reference.rsa(X.astype(np.float64), Y.astype(np.float64), method, metric) for X, Y in zip(Xs, Ys)]
    np.testing.assert_allclose(scores, oracle, rtol=0, atol=SCORE_TOL[dtype])


@pytest.mark.parametrize("method", METHODS)
def test_one_space_against_a_batch_either_side(rng, method):
    Xs, Y = batch(rng, 7, 10, 5, np.float64), rng.standard_normal((10, 8))
    loop = np.array([fastrsa.rsa(X, Y, method=method) for X in Xs])
    np.testing.assert_allclose(fastrsa.rsa(Xs, Y, method=method), loop, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fastrsa.rsa(Y, Xs, method=method), loop, rtol=0, atol=1e-12)


def test_chunks_change_nothing(rng, monkeypatch):
    Xs, Ys = batch(rng, 25, 8, 3, np.float64), batch(rng, 25, 8, 5, np.float64)
    whole = fastrsa.rsa(Xs, Ys, method="spearman")
    monkeypatch.setattr(_tuning, "BATCH_BYTES", 16 * 28 * 4)  # four items a launch, the last chunk short
    assert fastrsa.plan(fastrsa.rsa, Xs, Ys, "spearman").path.count("4 items a launch") == 1
    assert np.array_equal(fastrsa.rsa(Xs, Ys, method="spearman"), whole)


def test_ties_of_copied_rows_rank_as_rsa(rng):
    """Rows repeated (and doubled) within items: pairs of copies tie exactly, as in rsa."""
    Xs = batch(rng, 6, 12, 5, np.float64)
    Xs[:, 4] = Xs[:, 1]
    Xs[:, 9] = 2 * Xs[:, 1]
    Xs[:, 11] = Xs[:, 7]
    Ys = np.round(batch(rng, 6, 12, 3, np.float64))  # small integers: exact products
    Ys[:, :, 0] = 1 + np.abs(Ys[:, :, 0])
    for method in ["spearman", "kendall", "tau-a"]:
        loop = [fastrsa.rsa(X, Y, method=method) for X, Y in zip(Xs, Ys)]
        assert np.array_equal(fastrsa.rsa(Xs, Ys, method=method), loop)


def test_extreme_magnitudes(rng):
    Xs, Ys = batch(rng, 4, 9, 3, np.float64), batch(rng, 4, 9, 4, np.float64)
    expected = fastrsa.rsa(Xs, Ys)
    for scale in (1e-300, 1e300):
        np.testing.assert_allclose(fastrsa.rsa(Xs * scale, Ys, metric="cosine"), expected, rtol=0, atol=1e-12)
        loop = [fastrsa.rsa(X * scale, Y, metric="euclidean") for X, Y in zip(Xs, Ys)]
        np.testing.assert_allclose(fastrsa.rsa(Xs * scale, Ys, metric="euclidean"), loop, rtol=0, atol=1e-12)


def test_inputs_not_modified_and_any_layout(rng):
    Xs, Ys = batch(rng, 5, 8, 6, np.float32), batch(rng, 5, 8, 4, np.float32)
    copies = Xs.copy(), Ys.copy()
    fortran = np.asfortranarray(Xs)
    expected = fastrsa.rsa(Xs, Ys, method="spearman")
    assert np.array_equal(fastrsa.rsa(fortran, Ys[:, :, ::-1][:, :, ::-1], method="spearman"), expected)
    assert np.array_equal(Xs, copies[0]) and np.array_equal(Ys, copies[1])


def test_refusals(rng):
    Xs, Ys = batch(rng, 4, 9, 3, np.float64), batch(rng, 4, 9, 5, np.float64)
    with pytest.raises(ValueError, match="same length"):
        fastrsa.rsa(Xs, Ys[:3])
    with pytest.raises(ValueError, match="same items"):
        fastrsa.rsa(Xs, Ys[:, :8])
    bad = Xs.copy()
    bad[2, 5, 1] = np.nan
    with pytest.raises(ValueError, match=r"X\[2\] row 5, column 1"):
        fastrsa.rsa(bad, Ys)
    zero = Xs.copy()
    zero[3, 6] = 0
    with pytest.raises(ValueError, match=r"X\[3\] row 6 is all zeros"):
        fastrsa.rsa(zero, Ys)
    flat = Ys.copy()
    flat[1] = 1.0 + np.arange(5)  # every row alike: all similarities 1
    with pytest.raises(ValueError, match=r"the similarities of Y\[1\] has zero variance"):
        fastrsa.rsa(Xs, flat)
    with pytest.raises(ValueError, match="at least 3 items"):
        fastrsa.rsa(Xs[:, :2], Ys[:, :2])
    with pytest.raises(ValueError, match="no spaces"):
        fastrsa.rsa(Xs[:0], Ys[:0])
    with pytest.raises(ValueError, match="nan_policy='omit'"):
        fastrsa.rsa(Xs, Ys, nan_policy="omit")


@pytest.mark.parametrize("method", METHODS)
def test_compare_over_rows(rng, method):
    A, B = rng.standard_normal((6, 30)), rng.standard_normal((6, 30))
    B[:, :10] = np.round(B[:, :10])  # some ties
    loop = [fastrsa.compare(a, b, method) for a, b in zip(A, B)]
    np.testing.assert_allclose(fastrsa.compare(A, B, method), loop, rtol=0, atol=1e-12)
    single = [fastrsa.compare(a, B[0], method) for a in A]
    np.testing.assert_allclose(fastrsa.compare(A, B[0], method), single, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fastrsa.compare(B[0], A, method), single, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"b\[2\] has zero variance"):
        B[2] = 3.0
        fastrsa.compare(A, B, method)


def test_one_space_on_disk_against_a_batch(rng, tmp_path):
    Xs, Y = batch(rng, 5, 9, 3, np.float64), rng.standard_normal((9, 4))
    np.save(tmp_path / "y.npy", Y)
    expected = fastrsa.rsa(Xs, Y)
    assert np.array_equal(fastrsa.rsa(Xs, str(tmp_path / "y.npy")), expected)
    assert np.array_equal(fastrsa.rsa(Xs, np.load(tmp_path / "y.npy", mmap_mode="r")), expected)


def test_compare_refuses_what_rows_would_misread(rng):
    from scipy.spatial.distance import squareform

    a, b = rng.random(15), rng.random(15)
    with pytest.raises(ValueError, match="square RDM"):
        fastrsa.compare(squareform(a), squareform(b))
    with pytest.raises(ValueError, match="no vectors"):
        fastrsa.compare(np.empty((0, 15)), b)
    pandas = pytest.importorskip("pandas")
    with pytest.raises(ValueError, match="labelled table"):
        fastrsa.compare(pandas.DataFrame(rng.random((3, 15))), pandas.Series(b))
