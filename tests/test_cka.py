"""Linear CKA (fastrsa._cka) against the N x N reference (fastrsa.reference.cka)."""

import tracemalloc

import numpy as np
import pytest

from fastrsa import _cka, _tuning, reference
from fastrsa._cka import cka, cka_matrix

from .helpers import DTYPES

# Against the float64 reference on the same (float32 or float64) values.
TOL = {np.float32: 1e-5, np.float64: 1e-12}


def _spaces(rng, n, d1, d2, dtype=np.float64, noise=1.0):
    """Two spaces that share structure (Y a noisy linear map of X), with
    column offsets that centring must remove: CKA well away from 0."""
    X = rng.standard_normal((n, d1)) + rng.standard_normal(d1)
    Y = X @ rng.standard_normal((d1, d2)) / np.sqrt(d1) + noise * rng.standard_normal((n, d2)) + 3.0
    return X.astype(dtype), Y.astype(dtype)


def _close(got, want, dtype):
    assert isinstance(got, float)
    assert np.isfinite(got)
    assert abs(got - want) <= TOL[dtype] * abs(want), (got, want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize("n, d1, d2", [(4, 3, 5), (7, 1, 1), (50, 10, 20), (60, 80, 40), (200, 30, 7)])
def test_matches_the_reference(rng, dtype, debiased, n, d1, d2):
    X, Y = _spaces(rng, n, d1, d2, dtype, noise=0.5)
    _close(cka(X, Y, debiased), reference.cka(X, Y, debiased), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("debiased", [False, True])
def test_blocks_of_rows_add_up(rng, monkeypatch, dtype, debiased):
    """Several blocks of rows, the last one short (a block boundary ± 1)."""
    monkeypatch.setattr(_tuning, "GRAM_BLOCK", 16)
    for n in (15, 16, 17, 45):
        X, Y = _spaces(rng, n, 6, 9, dtype)
        _close(cka(X, Y, debiased), reference.cka(X, Y, debiased), dtype)


@pytest.mark.parametrize("debiased", [False, True])
def test_layouts_and_dtypes(rng, debiased):
    """Fortran order, strided views, integers and float16 give the float64 result."""
    X, Y = _spaces(rng, 40, 6, 8)
    want = reference.cka(X, Y, debiased)
    _close(cka(np.asfortranarray(X), Y[:, ::1].copy(order="F"), debiased), want, np.float64)
    wide = np.repeat(X, 2, axis=1)  # (every column twice: wide[:, ::2] is X, strided)
    _close(cka(wide[:, ::2], Y, debiased), want, np.float64)
    ints = np.round(10 * X).astype(np.int32), np.round(10 * Y).astype(np.int64)
    _close(cka(*ints, debiased), reference.cka(*ints, debiased), np.float64)
    half = X.astype(np.float16)
    _close(cka(half, Y, debiased), reference.cka(half.astype(np.float64), Y, debiased), np.float64)


@pytest.mark.parametrize("debiased", [False, True])
def test_float32_products_keep_float64_accuracy(rng, debiased):
    """float32 spaces over many rows take the Gram products in float32; the
    result stays within float32's 1e-6 of the float64 computation."""
    X, Y = _spaces(rng, 5000, 40, 60, np.float32, noise=2.0)
    want = cka(X.astype(np.float64), Y.astype(np.float64), debiased)
    assert abs(cka(X, Y, debiased) - want) <= 1e-6 * abs(want)


def test_published_demo_values():
    """The values Kornblith et al.'s demo prints for its data.

    Source: google-research/google-research, representation_similarity/Demo.ipynb
    (the colab of "Similarity of Neural Network Representations Revisited",
    ICML 2019): ``np.random.seed(1337); X = np.random.randn(100, 10);
    Y = np.random.randn(100, 10) + X`` prints "Linear CKA from Examples:
    0.55761" (and from Features, the same) and "Linear CKA from Examples
    (Debiased): 0.51346".  RandomState(1337) draws what the legacy global
    seed(1337) does, without touching the global state."""
    legacy = np.random.RandomState(1337)
    X = legacy.randn(100, 10)
    Y = legacy.randn(100, 10) + X
    assert f"{cka(X, Y):.5f}" == "0.55761"
    assert f"{cka(X, Y, debiased=True):.5f}" == "0.51346"
    assert f"{reference.cka(X, Y):.5f}" == "0.55761"
    assert f"{reference.cka(X, Y, debiased=True):.5f}" == "0.51346"
    assert abs(cka(X, Y) - reference.cka(X, Y)) <= 1e-12
    assert abs(cka(X, Y, debiased=True) - reference.cka(X, Y, debiased=True)) <= 1e-12


@pytest.mark.parametrize("debiased", [False, True])
def test_invariant_to_orthogonal_maps_scaling_and_shifts(rng, debiased):
    X, Y = _spaces(rng, 80, 12, 20)
    want = cka(X, Y, debiased)
    Q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    R, _ = np.linalg.qr(rng.standard_normal((20, 20)))
    assert abs(cka(X @ Q, Y, debiased) - want) <= 1e-12 * abs(want)
    assert abs(cka(X @ Q, Y @ R, debiased) - want) <= 1e-12 * abs(want)
    assert abs(cka(3.7 * X, 1e-3 * Y, debiased) - want) <= 1e-12 * abs(want)
    assert abs(cka(1e150 * X, 1e-150 * Y, debiased) - want) <= 1e-12 * abs(want)
    assert abs(cka(X + 100.0, Y - rng.standard_normal(20), debiased) - want) <= 1e-10 * abs(want)
    assert abs(cka(Y, X, debiased) - want) <= 1e-12 * abs(want)


def test_a_space_with_itself_is_exactly_one(rng):
    X, _ = _spaces(rng, 30, 5, 5)
    assert cka(X, X) == 1.0 and cka(X, X, debiased=True) == 1.0
    assert abs(cka(X, X.copy()) - 1) <= 1e-14


def _one_item_apart(rng, n, d, dtype=np.float64):
    """All items but the last equal: the kernel's off-diagonal is additive,
    so the unbiased self-HSIC is exactly 0 (U-centring removes K_ij = a_i + a_j)."""
    p, q = rng.standard_normal((2, d))
    return np.vstack([np.tile(p, (n - 1, 1)), q]).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [4, 5, 30, 5000])
def test_debiased_refuses_a_zero_self_hsic(rng, dtype, n):
    """Where the reference gives 0/0 (NaN, or the rounding noise left in
    its U-centred kernel), debiased CKA is a ValueError that names the space
    and says why; the biased form is defined there."""
    X = _one_item_apart(rng, n, 6, dtype)
    Y = rng.standard_normal((n, 4)).astype(dtype)
    if n <= 30:
        K = reference._gram_linear(X)  # (its U-centred kernel is rounding: the reference's CKA is 0/0)
        assert np.linalg.norm(reference._center_gram(K, unbiased=True)) <= 1e-12 * np.linalg.norm(K)
    with pytest.raises(ValueError, match=r"^X: its unbiased HSIC with itself is zero up to rounding.*but one"):
        cka(X, Y, debiased=True)
    with pytest.raises(ValueError, match=r"^Y: its unbiased HSIC"):
        cka(Y, X, debiased=True)
    with pytest.raises(ValueError, match=r"^spaces\[1\]: its unbiased HSIC"):
        cka_matrix([Y, X], debiased=True)
    assert np.isfinite(cka(X, Y))


def test_debiased_is_never_nan_at_small_n(rng):
    """Small random spaces, many of them: a finite value in [-1, 1], or the documented error."""
    for _ in range(300):
        n = int(rng.integers(4, 8))
        X = rng.standard_normal((n, int(rng.integers(1, 4))))
        Y = rng.standard_normal((n, int(rng.integers(1, 4))))
        if rng.random() < 0.3:
            X = np.round(X)  # ties and repeated rows
        try:
            value = cka(X, Y, debiased=True)
        except ValueError as error:
            assert "unbiased HSIC with itself is zero" in str(error) or "constant" in str(error)
        else:
            assert np.isfinite(value) and abs(value) <= 1 + 1e-12


@pytest.mark.parametrize("n", [2, 3])
def test_debiased_needs_four_items(n):
    X = np.arange(2.0 * n).reshape(n, 2) ** 2
    with pytest.raises(ValueError, match="debiased=True needs at least 4 items"):
        cka(X, X[:, ::-1].copy(), debiased=True)
    with pytest.raises(ValueError, match="debiased=True needs at least 4 items"):
        cka_matrix([X.tolist(), X], debiased=True)
    if n == 3:
        assert np.isfinite(cka(X, X[:, ::-1].copy()))


@pytest.mark.parametrize("debiased", [False, True])
def test_refuses_a_space_whose_rows_are_all_equal(rng, debiased):
    X = rng.standard_normal((10, 3))
    constant = np.tile(rng.standard_normal(4), (10, 1))
    with pytest.raises(ValueError, match=r"^Y has all 10 rows equal .* centred data is all zeros"):
        cka(X, constant, debiased)
    with pytest.raises(ValueError, match=r"^X has all 10 rows equal"):
        cka(constant, X, debiased)
    with pytest.raises(ValueError, match=r"^others\[0\] has all 10 rows equal"):
        cka_matrix([X], [constant], debiased)
    zero_row = X.copy()
    zero_row[3] = 0  # (a zero row, or a constant one, is fine: only the whole space may not be constant)
    assert np.isfinite(cka(zero_row, X, debiased))


def test_refuses_bad_input(rng):
    X, Y = _spaces(rng, 10, 3, 4)
    bad = X.copy()
    bad[2, 1] = np.nan
    cases = [
        ((bad, Y), "X contains NaN or inf"),
        ((X, np.where(Y > 1, np.inf, Y)), "Y contains NaN or inf"),
        ((X, Y[:9]), "same number of rows"),
        ((X[:, 0], Y), "must be 2-D"),
        ((X.astype(complex), Y), "dtype complex128"),
        ((X[:2], Y[:2]), "at least 3 items"),
        ((X, Y, "yes"), "debiased='yes' is not supported"),
        ((X, Y, None), "debiased=None is not supported"),
    ]
    for args, message in cases:
        with pytest.raises(ValueError, match=message):
            cka(*args)
    matrix_cases = [
        ((X,), "spaces must be a sequence of spaces"),
        (("space.npy",), "spaces must be a sequence of spaces"),
        (([],), "spaces is empty"),
        (([X, Y[:9]],), r"spaces\[1\].shape\[0\] == 9 while spaces\[0\].shape\[0\] == 10"),
        (([X], [Y, Y[:9]]), r"others\[1\].shape\[0\] == 9"),
        (([X, bad],), r"spaces\[1\] contains NaN"),
        (([X], Y), "others must be a sequence"),
        (([X], None, 1), "debiased=1 is not supported"),
    ]
    for args, message in matrix_cases:
        with pytest.raises(ValueError, match=message):
            cka_matrix(*args)


def test_inputs_are_not_modified(rng):
    for dtype in DTYPES:
        X, Y = _spaces(rng, 30, 4, 6, dtype)
        copies = X.copy(), Y.copy()
        X.setflags(write=False)
        cka(X, Y), cka(X, Y, debiased=True), cka_matrix([X, Y]), cka_matrix([X], [Y], debiased=True)
        assert np.array_equal(X, copies[0]) and np.array_equal(Y, copies[1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("debiased", [False, True])
def test_matrix_cells_are_cka_of_each_pair(rng, dtype, debiased):
    X, Y = _spaces(rng, 60, 7, 11, dtype)
    spaces = [X, Y, X @ rng.standard_normal((7, 5)).astype(dtype), rng.standard_normal((60, 3)).astype(dtype)]
    matrix = cka_matrix(spaces, debiased=debiased)
    assert matrix.dtype == np.float64 and matrix.shape == (4, 4)
    assert np.array_equal(np.diag(matrix), np.ones(4))
    assert np.array_equal(matrix, matrix.T)
    for k in range(4):
        for l in range(4):
            if k != l:  # (widths 7, 11, 5, 3: every product the wider space first, whichever is given first)
                assert matrix[k, l] == cka(spaces[k], spaces[l], debiased) == cka(spaces[l], spaces[k], debiased)
                _close(float(matrix[k, l]), reference.cka(spaces[k], spaces[l], debiased), dtype)
    rows = cka_matrix(spaces[:2], spaces[1:], debiased=debiased)
    assert rows.shape == (2, 3)
    assert rows[1, 0] == 1.0  # (the same object in both lists)
    assert np.array_equal(rows[0], matrix[0, 1:]) and np.array_equal(rows[1, 1:], matrix[1, 2:])


def test_spaces_on_disk_give_the_same_result(rng, tmp_path, monkeypatch):
    monkeypatch.setattr(_tuning, "GRAM_BLOCK", 32)
    X, Y = _spaces(rng, 100, 5, 9, np.float32)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    for debiased in (False, True):
        want = cka(X, Y, debiased)
        assert cka(tmp_path / "x.npy", str(tmp_path / "y.npy"), debiased) == want
        assert cka(np.load(tmp_path / "x.npy", mmap_mode="r"), Y, debiased) == want
        assert cka_matrix([tmp_path / "x.npy", Y], debiased=debiased)[0, 1] == want


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("debiased", [False, True])
def test_memory_is_what_memory_bytes_says(rng, dtype, debiased):
    """NumPy's peak allocation (tracemalloc) within 2 % of the prediction, and
    far below a float64 copy of the spaces."""
    n, d1, d2 = 40000, 60, 150
    X = rng.standard_normal((n, d1)).astype(dtype)
    Y = rng.standard_normal((n, d2)).astype(dtype)
    cka(X[:50], Y[:50], debiased)
    tracemalloc.start()
    try:
        cka(X, Y, debiased)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    predicted = _cka.memory_bytes(n, d1, d2, dtype == np.float32, debiased)
    assert 0.9 * predicted <= peak <= 1.02 * predicted
    assert predicted < 8 * n * (d1 + d2) / 2
    widths = [d1, d2, 40]
    assert _cka.matrix_memory_bytes(n, widths) > _cka.memory_bytes(n, d1, d2)
    assert _cka.matrix_memory_bytes(n, [d1], [d2]) == _cka.memory_bytes(n, d1, d2)
