"""The memory guard: a clear MemoryError subclass before any large allocation,
and the Gram path for Pearson when the pairs would not fit."""

import pytest

import fastrsa
from fastrsa import _memory

from .helpers import correlated_spaces


def _pretend_available(monkeypatch, nbytes):
    """The machine has ``nbytes`` available, and even small calls are checked."""
    monkeypatch.setattr(_memory, "available_bytes", lambda: nbytes)
    monkeypatch.setattr(_memory, "_UNCHECKED", 0)


@pytest.fixture
def little_memory(monkeypatch):
    """A machine with 1 MiB available: nothing but the smallest call fits."""
    _pretend_available(monkeypatch, 1 << 20)


def test_rsm_that_does_not_fit_raises_before_allocating(rng, little_memory):
    X = rng.standard_normal((100, 5))
    with pytest.raises(fastrsa.InsufficientMemoryError, match=r"rsm of 100 items needs about .* GiB .* available; use fewer items") as caught:
        fastrsa.rsm(X)
    assert isinstance(caught.value, MemoryError)
    assert caught.value.needed > caught.value.available == 1 << 20


@pytest.mark.parametrize("call", [
    lambda X, Y: fastrsa.rdm(X, "euclidean"),
    lambda X, Y: fastrsa.rsa(X, Y, method="spearman"),
    lambda X, Y: fastrsa.rsa(X, Y, metric="euclidean"),
    lambda X, Y: fastrsa.compare(X[:, 0], Y[:, 0], "spearman"),
])
def test_every_pairwise_path_is_guarded(rng, little_memory, call):
    X, Y = correlated_spaces(rng, 100, 5, 6)
    with pytest.raises(fastrsa.InsufficientMemoryError):
        call(X, Y)


def test_spearman_error_names_the_path_that_fits(rng, little_memory):
    X, Y = correlated_spaces(rng, 100, 5, 6)
    with pytest.raises(fastrsa.InsufficientMemoryError, match="method='pearson' with metric='cosine' .* fits"):
        fastrsa.rsa(X, Y, method="spearman")


def test_pearson_falls_back_to_the_gram_path_when_pairs_do_not_fit(rng, monkeypatch):
    # 300 features over 40 items: the pairs path is cheaper, so rsa() takes it
    # unless memory is short; the Gram path gives the same score.
    X, Y = correlated_spaces(rng, 40, 300, 200)
    expected = fastrsa.rsa(X, Y)
    _pretend_available(monkeypatch, 1 << 20)
    with pytest.raises(fastrsa.InsufficientMemoryError):
        fastrsa.rsm(X)  # the pairs really do not fit
    assert fastrsa.rsa(X, Y) == pytest.approx(expected, abs=1e-10)


def test_unknown_available_memory_does_not_block(rng, monkeypatch):
    _pretend_available(monkeypatch, None)
    assert fastrsa.rsm(rng.standard_normal((5, 2))).shape == (10,)


def test_available_bytes_reads_this_machine():
    available = _memory.available_bytes()
    assert available is None or available > 0


def test_small_calls_do_not_read_the_system_figures(rng, monkeypatch):
    def unreadable():
        raise AssertionError("available_bytes was read for a small call")

    monkeypatch.setattr(_memory, "available_bytes", unreadable)
    fastrsa.rsa(*correlated_spaces(rng, 30, 4, 5), method="spearman")
