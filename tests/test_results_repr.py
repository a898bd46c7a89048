"""The results print short: a line or a few of their key numbers, however
long their arrays, which stay whole in the attributes."""

import dataclasses

import numpy as np
import pytest

import fastrsa
from fastrsa.embeddings import Alignment, Embeddings, WordsResult, align

from .helpers import correlated_spaces

N, RESAMPLES = 5_000, 10_000
LIMIT = 400


def _number(value):
    return f"{value:.6g}"


@pytest.fixture(scope="module")
def large():
    # Few features: the weighted Gram bootstrap and the Gram null, cheap at 5,000 items.
    X, Y = correlated_spaces(np.random.default_rng(3), N, 3, 4, noise=1.0)
    return X, Y


def test_bootstrap_result(large):
    X, Y = large
    for interval in ("percentile", "bca"):
        result = fastrsa.bootstrap_ci(X, Y, n_boot=RESAMPLES, seed=1, interval=interval)
        text = repr(result)
        assert len(text) < LIMIT and "\n" not in text, text
        assert str(result) == text  # (print shows the same)
        low, high = result.confidence_interval
        for key in [result.statistic, low, high, result.standard_error]:
            assert _number(key) in text
        assert f"interval={interval!r}" in text and "confidence=0.95" in text and "<10,000 values>" in text
        assert "method='pearson'" in text
        if interval == "bca":
            assert _number(result.percentile_interval.low) in text and _number(result.percentile_interval.high) in text
        assert result.distribution.shape == (RESAMPLES,) and np.isfinite(result.distribution).all()


def test_bootstrap_result_with_omitted_items(rng):
    X, Y = correlated_spaces(rng, 40, 4, 5)
    X[[3, 7]] = np.nan
    with pytest.warns(fastrsa.OmittedWarning):
        result = fastrsa.bootstrap_ci(X, Y, n_boot=50, seed=1, nan_policy="omit")
    assert "omitted_items=<2 items>" in repr(result)
    assert result.omitted_items.tolist() == [3, 7]


def test_a_result_made_from_its_fields_prints_short():
    distribution = np.linspace(0, 1, RESAMPLES)
    result = fastrsa.BootstrapResult(0.5, 0.025, 0.975, 0.95, "spearman", distribution, np.arange(N))
    text = repr(result)
    assert len(text) < LIMIT and f"omitted_items=<{N:,} items>" in text and "interval='percentile'" in text
    assert result.interval == "percentile" and result.percentile_interval == (0.025, 0.975) and result.bca_interval is None


def test_permutation_result(large):
    X, Y = large
    result = fastrsa.permutation_test(X, Y, permutations=RESAMPLES, seed=1, keep_null=True)
    text = repr(result)
    assert len(text) < LIMIT and "\n" not in text, text
    assert _number(result.statistic) in text and f"pvalue={_number(result.pvalue)}" in text
    assert f"permutations={RESAMPLES}" in text and "alternative='two-sided'" in text and "method='pearson'" in text
    assert "null_distribution=<10,000 values>" in text
    assert result.null_distribution.shape == (RESAMPLES,)
    assert "null_distribution=None" in repr(dataclasses.replace(result, null=None))


def test_permutation_result_with_omitted_pairs(rng):
    a, b = fastrsa.rdm(rng.standard_normal((30, 4))), fastrsa.rdm(rng.standard_normal((30, 4)))
    b[[3, 100]] = np.nan
    with pytest.warns(fastrsa.OmittedWarning):
        result = fastrsa.mantel(a, b, permutations=99, seed=1, nan_policy="omit")
    assert "omitted_pairs=2" in repr(result) and len(repr(result)) < LIMIT


def test_matrix_results(rng):
    spaces = [rng.standard_normal((60, 3)) for _ in range(3)]
    small = fastrsa.rsa_matrix(spaces)
    assert repr(small).startswith("<MatrixResult 3x3 pearson (cosine)>\n") and str(small) in repr(small)
    many = [rng.standard_normal((60, 3)) for _ in range(30)]
    large = fastrsa.rsa_matrix(many)
    text = repr(large)
    assert len(text) < LIMIT and "\n" not in text and "print(result) shows the table" in text, text
    assert large.matrix.shape == (30, 30) and len(str(large).splitlines()) == 31  # (print: the whole table)

    test = fastrsa.matrix_permutation_test(spaces, permutations=99, seed=1, keep_null=True)
    text = repr(test)
    assert text.startswith("<MatrixPermutationResult 3x3 pearson (cosine), permutations=99")
    assert f"smallest pvalue {np.nanmin(test.pvalues):.6g}" in text and str(test.statistic) in text
    assert len(text) < LIMIT and test.null_distribution.shape == (99, 3, 3)
    test = fastrsa.matrix_permutation_test(many, permutations=9, seed=1)
    assert len(repr(test)) < LIMIT and "print(result.statistic) shows the table" in repr(test)


@pytest.fixture(scope="module")
def vocabularies():
    rng = np.random.default_rng(5)
    words = [f"word{k}" for k in range(N)]
    a = Embeddings(words + ["only_in_a_" + "x" * 60], rng.standard_normal((N + 1, 384)).astype(np.float32))
    b = Embeddings(words[::-1] + [f"only_in_b{k}" for k in range(700)], rng.standard_normal((N + 700, 384)))
    return a, b


def test_alignment(vocabularies):
    a, b = vocabularies
    aligned = align(a, b)
    text = repr(aligned)
    assert len(text) < LIMIT and "\n" not in text, text
    assert text.startswith(f"Alignment({N:,} words: word0, word1, ")
    assert "missing in a: 700 (only_in_b0, " in text and "missing in b: 1 (only_in_a_xxxxxxxxx…)" in text
    assert f"x ({N}, 384) float32, y ({N}, 384) float64" in text
    assert isinstance(aligned, tuple) and aligned.x.shape == (N, 384) and len(aligned.words) == N
    assert len(aligned.missing_a) == 700 and aligned == Alignment(*aligned)  # (still a NamedTuple, equality as before)
    small = align(a, b, "word1 nothing")
    assert repr(small) == (
        "Alignment(1 word: word1; missing in a: 1 (nothing); missing in b: 1 (nothing); "
        "x (1, 384) float32, y (1, 384) float64)"
    )


def test_words_result(vocabularies):
    a, b = vocabularies
    result = fastrsa.rsa_words(a, b)
    text = repr(result)
    assert len(text) < LIMIT and "\n" not in text, text
    assert text.startswith(f"WordsResult(score={result.score:.6g}, {N:,} words: word0, ")
    assert text.endswith("method='pearson', metric='cosine')")
    assert len(result.words) == N and result == WordsResult(*result)
