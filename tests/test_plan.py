"""fastrsa.plan: every entry point plans once, and runs what it planned."""

import numpy as np
import pytest

import fastrsa
from fastrsa import _memory, _tuning, api, stats

from .helpers import correlated_spaces

GIB = 1 << 30


def _vectors(rng, n=40):
    X, Y = correlated_spaces(rng, n, 6, 5)
    return fastrsa.rdm(X), fastrsa.rdm(Y)


def _calls(rng):
    """(function, args, kwargs) for every entry point and its main paths."""
    X, Y = correlated_spaces(rng, 60, 12, 9)
    a, b = _vectors(rng)
    return [
        (fastrsa.rsm, (X,), {}),
        (fastrsa.rdm, (X,), {"metric": "euclidean"}),
        (fastrsa.compare, (a, b), {"method": "kendall"}),
        (fastrsa.rsa, (X, Y), {}),
        (fastrsa.rsa, (X, Y), {"method": "spearman", "metric": "correlation"}),
        (fastrsa.split_half, (X,), {"method": "spearman"}),
        (fastrsa.mantel, (a, b), {"permutations": 20, "seed": 1}),
        (fastrsa.permutation_test, (X, Y), {"permutations": 20, "seed": 1}),
        (fastrsa.bootstrap_ci, (X, Y), {"n_boot": 20, "seed": 1}),
    ]


def test_every_entry_point_has_a_plan(rng):
    for function, args, kwargs in _calls(rng):
        for name in (function, function.__name__):
            plan = fastrsa.plan(name, *args, **kwargs)
            assert isinstance(plan, fastrsa.Plan) and plan.function == function.__name__
            assert plan.stages and all(isinstance(stage, fastrsa.Stage) for stage in plan.stages)
            assert plan.path == "; ".join(f"{stage.name}: {stage.path}" for stage in plan.stages)
            assert plan.memory_bytes >= 0 and plan.fits is True and plan.threads >= 1
            assert plan.flops > 0 and plan.bytes_moved > 0
            text = str(plan)
            assert text.splitlines()[0].startswith(function.__name__) and "memory" in text and len(text.splitlines()) <= 8


def test_the_call_returns_what_its_plan_runs(rng):
    for function, args, kwargs in _calls(rng):
        planned = fastrsa.plan(function, *args, **kwargs).execute()
        called = function(*args, **kwargs)
        if isinstance(called, float):
            assert planned == called
        elif isinstance(called, np.ndarray):
            np.testing.assert_array_equal(planned, called)
        else:  # a result object: every field
            for name in called.__dataclass_fields__:
                np.testing.assert_array_equal(getattr(planned, name), getattr(called, name), err_msg=name)


def test_plan_checks_the_input_as_the_call_does(rng):
    X, Y = correlated_spaces(rng, 30, 4, 4)
    bad = [
        ("rsa", (X, Y), {"method": "pearsn"}),
        ("rsa", (X, Y[:20]), {}),
        ("rsm", (np.full((5, 3), np.nan),), {}),
        ("permutation_test", (X, Y), {"permutations": 0}),
        ("bootstrap_ci", (X, Y), {"confidence": 2}),
        ("split_half", (X[:, :1],), {}),
        ("mantel", (np.arange(5.0), np.arange(5.0)), {}),
    ]
    for name, args, kwargs in bad:
        with pytest.raises(ValueError) as from_call:
            getattr(fastrsa, name)(*args, **kwargs)
        with pytest.raises(ValueError) as from_plan:
            fastrsa.plan(name, *args, **kwargs)
        assert str(from_plan.value) == str(from_call.value)
    with pytest.raises(TypeError):  # the function's own signature
        fastrsa.plan(fastrsa.rsa, X, Y, methd="spearman")


def test_only_entry_points_have_plans():
    for function in ("rsb", np.mean, fastrsa.load_embeddings, 3):
        with pytest.raises(ValueError, match="has no plan; use one of fastrsa's entry points: .*bootstrap_ci"):
            fastrsa.plan(function)


def test_a_plan_that_does_not_fit_says_so_and_the_call_refuses_as_it_says(rng, monkeypatch):
    X, Y = correlated_spaces(rng, 6000, 8, 8)
    monkeypatch.setattr(_memory, "available_bytes", lambda: _memory.Available(GIB // 4, "a test's limit"))
    plan = fastrsa.plan(fastrsa.rsa, X, Y, method="kendall")
    assert not plan.fits and plan.memory_bytes > GIB // 4 and plan.alternatives
    assert "does not fit" in str(plan) and "instead: method='pearson'" in str(plan)
    with pytest.raises(fastrsa.InsufficientMemoryError, match="a test's limit") as caught:
        fastrsa.rsa(X, Y, method="kendall")
    assert caught.value.needed == plan.memory_bytes + _memory._OVERHEAD
    # Pearson needs no pairs: it fits, by the Gram identity.
    pearson = fastrsa.plan(fastrsa.rsa, X, Y)
    assert pearson.fits and pearson.choices["route"] == api.GRAM


def test_a_plan_reads_the_available_memory_at_most_once(rng, monkeypatch):
    reads = []
    real = _memory.available_bytes
    monkeypatch.setattr(_memory, "available_bytes", lambda: (reads.append(1), real())[1])
    monkeypatch.setattr(_memory, "_UNCHECKED", 0)  # every call checks
    X, Y = correlated_spaces(rng, 300, 20, 10)
    for function, kwargs in [
        (fastrsa.rsa, {}),
        (fastrsa.rsa, {"method": "spearman"}),
        (fastrsa.permutation_test, {"permutations": 30, "seed": 0}),
        (fastrsa.bootstrap_ci, {"n_boot": 10, "seed": 0}),
    ]:
        reads.clear()
        function(X, Y, **kwargs)
        assert len(reads) <= 1, (function.__name__, kwargs, len(reads))


def test_the_plan_shows_each_path(rng, monkeypatch):
    small = correlated_spaces(rng, 60, 300, 200)
    tall = correlated_spaces(rng, 3000, 4, 3)
    assert fastrsa.plan(fastrsa.rsa, *tall).choices["route"] == api.GRAM
    assert fastrsa.plan(fastrsa.rsa, *small).choices == {"route": api.PAIRS, "sides": (24, 32)}
    assert "in one launch" in fastrsa.plan(fastrsa.rsa, *small, method="spearman").path
    monkeypatch.setattr(_tuning, "SMALL_PRODUCT", 0)  # row blocks
    blocks = fastrsa.plan(fastrsa.rsa, *small, method="spearman")
    assert blocks.choices == {"route": api.SPEARMAN_IN_TURN, "sides": (0, 0)} and "row blocks" in blocks.path
    monkeypatch.undo()
    assert fastrsa.plan(fastrsa.permutation_test, *tall, permutations=5).choices["null"] == stats.GRAM_NULL
    a, b = _vectors(rng, 40)
    assert fastrsa.plan(fastrsa.mantel, a, b).choices["null"] == stats.SQUARE
    a, b = _vectors(rng, 250)
    assert fastrsa.plan(fastrsa.mantel, a, b).choices["null"] == stats.BLOCKED
    monkeypatch.setattr(_tuning, "SQUARE_BYTES", 0)
    assert fastrsa.plan(fastrsa.mantel, a, b).choices["null"] == stats.CONDENSED
    assert fastrsa.plan(fastrsa.rsm, small[0]).threads == 1  # a small call: one thread


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pearson_inference_at_20000_items_takes_the_gram_identities(dtype):
    # issue 19's sizes (benchmarks/data.py's spaces: only their shapes matter to a plan).
    X = np.random.default_rng(0).standard_normal((20_000, 300)).astype(dtype)
    Y = np.random.default_rng(1).standard_normal((20_000, 768)).astype(dtype)
    n, pairs = 20_000, 20_000 * 19_999 // 2
    test = fastrsa.plan(fastrsa.permutation_test, X, Y, permutations=999, seed=1)
    # The pairs' null would gather from a 1.6 GB condensed vector, each gather a cache miss.
    assert stats._null_kernel(n, 999, _memory_free()) == stats.CONDENSED
    assert stats._gather_cost(n, stats.CONDENSED) == _tuning.MISSED_GATHER_COST
    assert fastrsa._gram.flops(n, 300, 768) < _tuning.MISSED_GATHER_COST * pairs
    assert test.choices["null"] == stats.GRAM_NULL and "permutations of Y's rows by the Gram identity" in test.path
    boot = fastrsa.plan(fastrsa.bootstrap_ci, X, Y, n_boot=1000, seed=1)
    assert boot.choices["route"] == stats.WEIGHTED_GRAM and "weighted Gram identity" in boot.path
    assert boot.memory_bytes < 2**30 and "no pairs" in boot.path
    # The flops it states: the products over the ~63 % of items each resample draws.
    drawn = round(stats._weighted_gram.items_drawn(n))
    assert abs(drawn - 0.632 * n) < 0.001 * n
    assert boot.flops >= 1000 * drawn * (300**2 + 768**2 + 300 * 768)


def _memory_free():
    return fastrsa._plan.Available()


def test_the_bootstrap_route_follows_the_cost_and_the_memory(rng, monkeypatch):
    X, Y = correlated_spaces(rng, 3000, 300, 300)
    tall = correlated_spaces(rng, 3000, 8, 6)
    # Few items, many features: each resample's Gram products cost more than its pairs.
    assert fastrsa.plan(fastrsa.bootstrap_ci, X, Y, n_boot=200).choices["route"] == api.PAIRS
    assert fastrsa.plan(fastrsa.bootstrap_ci, *tall, n_boot=200).choices["route"] == stats.WEIGHTED_GRAM
    assert fastrsa.plan(fastrsa.bootstrap_ci, *tall, metric="correlation").choices["route"] == stats.WEIGHTED_GRAM
    # Euclidean metrics and Spearman keep the pairs.
    for kwargs in ({"metric": "euclidean"}, {"metric": "sqeuclidean"}, {"method": "spearman"}):
        assert fastrsa.plan(fastrsa.bootstrap_ci, *tall, n_boot=200, **kwargs).choices["route"] == api.PAIRS
    # Where the pairs do not fit, the Gram identity, whatever the flops.
    monkeypatch.setattr(_memory, "available_bytes", lambda: _memory.Available(GIB // 8, "a test's limit"))
    monkeypatch.setattr(_memory, "_UNCHECKED", 0)  # every call checks
    assert not fastrsa.plan(fastrsa.bootstrap_ci, X, Y, metric="euclidean", n_boot=200).fits
    assert not fastrsa.plan(fastrsa.bootstrap_ci, X, Y, method="spearman", n_boot=200).fits
    by_gram = fastrsa.plan(fastrsa.bootstrap_ci, X, Y, n_boot=200)
    assert by_gram.choices["route"] == stats.WEIGHTED_GRAM and by_gram.fits
