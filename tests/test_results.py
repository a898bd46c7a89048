"""The result objects read like SciPy's (scipy.stats.permutation_test and
scipy.stats.bootstrap): the SciPy names are the fields themselves, the
permutation result unpacks, and the bootstrap's standard error is SciPy's."""

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

import fastrsa
from fastrsa._results import ConfidenceInterval

from .helpers import correlated_spaces

FIELDS = {
    fastrsa.PermutationResult: [
        "statistic", "pvalue", "permutations", "alternative", "method", "null", "omitted_pairs", "omitted_items"
    ],
    fastrsa.BootstrapResult: ["statistic", "low", "high", "confidence", "method", "distribution", "omitted_items"],
}


@pytest.mark.parametrize("result_type", list(FIELDS))
def test_fields_unchanged(result_type):
    # The SciPy names are properties: the public fields (golden records, ==, repr) stay as they were.
    fields = dataclasses.fields(result_type)
    assert [f.name for f in fields if not f.name.startswith("_")] == FIELDS[result_type]
    assert not any(f.compare for f in fields if f.name.startswith("_"))


def test_a_replaced_bootstrap_result_keeps_its_kind_of_interval(rng):
    X, Y = correlated_spaces(rng, 30, 5, 7, noise=1.0)
    result = fastrsa.bootstrap_ci(X, Y, "spearman", n_boot=200, seed=4, interval="bca")
    replaced = dataclasses.replace(result, confidence=result.confidence)
    assert replaced == result and replaced.interval == "bca"
    assert replaced.bca_interval == result.bca_interval == replaced.confidence_interval
    assert replaced.percentile_interval == result.percentile_interval != result.bca_interval
    assert dataclasses.replace(result, low=0.0).interval == "bca"  # (the fields given change; the kind stays)


@pytest.fixture
def spaces(rng):
    return correlated_spaces(rng, 25, 6, 8, noise=1.0)


@pytest.mark.parametrize("keep_null", [False, True])
def test_permutation_result_reads_like_scipy(spaces, keep_null):
    X, Y = spaces
    result = fastrsa.permutation_test(X, Y, permutations=199, seed=3, keep_null=keep_null)
    if keep_null:
        assert result.null_distribution is result.null
        assert result.null_distribution.shape == (199,)
    else:
        assert result.null is None and result.null_distribution is None
    statistic, pvalue = result
    assert statistic == result.statistic == fastrsa.rsa(X, Y)
    assert pvalue == result.pvalue
    assert tuple(result) == (result.statistic, result.pvalue)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.null_distribution = np.zeros(199)


def test_mantel_result_unpacks(spaces):
    a, b = fastrsa.rdm(spaces[0]), fastrsa.rdm(spaces[1])
    result = fastrsa.mantel(a, b, permutations=99, seed=1, keep_null=True)
    statistic, pvalue = result
    assert (statistic, pvalue) == (fastrsa.compare(a, b), result.pvalue)
    assert result.null_distribution is result.null


def test_bootstrap_result_reads_like_scipy(spaces):
    X, Y = spaces
    result = fastrsa.bootstrap_ci(X, Y, n_boot=300, seed=2)
    interval = result.confidence_interval
    assert isinstance(interval, ConfidenceInterval)
    assert (interval.low, interval.high) == (result.low, result.high)
    low, high = interval
    assert low < result.statistic < high
    assert result.bootstrap_distribution is result.distribution
    assert result.standard_error == np.std(result.distribution, ddof=1)
    assert result.standard_error > 0 and isinstance(result.standard_error, float)


def test_standard_error_is_scipys_definition():
    # SciPy's bootstrap of a small sample; its distribution in a BootstrapResult gives its standard error.
    sample = np.random.default_rng(7).standard_normal(15)
    scipy_result = scipy_stats.bootstrap(
        (sample,), np.mean, n_resamples=99, method="percentile", random_state=np.random.default_rng(1)
    )
    distribution = scipy_result.bootstrap_distribution
    ours = fastrsa.BootstrapResult(
        statistic=float(np.mean(sample)),
        low=float(scipy_result.confidence_interval.low),
        high=float(scipy_result.confidence_interval.high),
        confidence=0.95,
        method="pearson",
        distribution=distribution,
    )
    assert ours.standard_error == scipy_result.standard_error
    assert ours.confidence_interval == tuple(scipy_result.confidence_interval)
    # ddof=1, not the population deviation.
    assert ours.standard_error != np.std(distribution)


def test_standard_error_of_a_single_resample_is_nan(spaces):
    result = fastrsa.bootstrap_ci(*spaces, n_boot=1, seed=0)
    assert result.distribution.shape == (1,)
    assert math.isnan(result.standard_error)
