"""The command line, run as a user runs it: in a subprocess."""

import json
import os
import subprocess
import sys

import pytest

import fastrsa
from fastrsa.embeddings import SAMPLE_PATH

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "fastrsa", *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


SENTENCE_WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog"]


@pytest.fixture(scope="module")
def two_files(tmp_path_factory):
    """The bundled sample as two GloVe-style text files: the first 300 words, then
    the sentence's words; the second file lacks "fox"."""
    folder = tmp_path_factory.mktemp("emb")
    paths = []
    for space in ("static", "contextual"):
        emb = fastrsa.sample_embeddings(space)
        words = list(dict.fromkeys(emb.words[:300] + SENTENCE_WORDS))
        if space == "contextual":
            words.remove("fox")
        path = folder / f"{space}.txt"
        with open(path, "w", encoding="utf-8") as file:
            for word in words:
                file.write(word + " " + " ".join(f"{v:.6g}" for v in emb[word]) + "\n")
        paths.append(path)
    return paths


def test_compare_json_carries_every_key_and_the_right_score(two_files):
    a, b = two_files
    done = run("compare", a, b, "--words", "The quick brown fox jumps over the lazy dog", "--case", "lower", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {
        "score", "method", "metric", "n_items", "n_pairs", "missing_a", "missing_b",
        "mean_sim_a", "mean_sim_b", "share_b_higher", "seconds",
    }  # fmt: skip
    assert result["missing_a"] == [] and result["missing_b"] == ["fox"]
    shared = [word for word in SENTENCE_WORDS if word != "fox"]
    static, contextual = fastrsa.sample_embeddings("static"), fastrsa.sample_embeddings("contextual")
    aligned = fastrsa.align(static, contextual, shared)
    assert result["n_items"] == 7 and result["n_pairs"] == 21
    assert result["score"] == pytest.approx(fastrsa.rsa(aligned.x, aligned.y), abs=1e-5)
    a_sims, b_sims = fastrsa.rsm(aligned.x), fastrsa.rsm(aligned.y)
    assert result["mean_sim_a"] == pytest.approx(a_sims.mean(), abs=1e-5)
    assert result["share_b_higher"] == pytest.approx((b_sims > a_sims).mean(), abs=1e-12)


def test_compare_text_output_and_plot(two_files, tmp_path):
    a, b = two_files
    png = tmp_path / "rsa.png"
    done = run("compare", a, b, "--top", "100", "--method", "spearman", "--plot", png)
    assert done.returncode == 0, done.stderr
    assert "spearman RSA (cosine similarities):" in done.stdout
    assert "items: 100   pairs: 4,950" in done.stdout
    assert "pairs more similar in B than in A:" in done.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_adds_a_pvalue_and_an_interval(two_files):
    a, b = two_files
    options = ("--top", "60", "--method", "spearman", "--permutations", "199", "--bootstrap", "100", "--seed", "3")
    done = run("compare", a, b, *options, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    static, contextual = fastrsa.sample_embeddings("static"), fastrsa.sample_embeddings("contextual")
    with open(a, encoding="utf-8") as file:
        words = [line.split(" ", 1)[0] for line in file][:60]
    aligned = fastrsa.align(static, contextual, words)
    expected_p = fastrsa.permutation_test(aligned.x, aligned.y, "spearman", permutations=199, seed=3).pvalue
    interval = fastrsa.bootstrap_ci(aligned.x, aligned.y, "spearman", n_boot=100, seed=3)
    assert result["pvalue"] == expected_p and result["permutations"] == 199
    assert result["ci_low"] == pytest.approx(interval.low, abs=1e-5)
    assert result["ci_high"] == pytest.approx(interval.high, abs=1e-5)
    assert result["ci_low"] < result["score"] < result["ci_high"]
    text = run("compare", a, b, *options)
    assert "p-value (Mantel test, 199 permutations, two-sided): 0.005" in text.stdout
    assert "95% interval (100 bootstrap resamples): [" in text.stdout
    refused = run("compare", a, b, "--method", "kendall", "--permutations", "10")
    assert refused.returncode == 2
    assert refused.stderr == (
        "fastrsa compare: error: --permutations and --bootstrap take --method pearson or --method spearman, "
        "not --method kendall (see fastrsa compare --help)\n"
    )


def test_split_half_json(tmp_path):
    done = run("split-half", SAMPLE_PATH, "--key", "static", "--limit", "2000", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["score"] == pytest.approx(0.3190, abs=5e-5)  # the data README's figure
    assert result["n_items"] == 2000 and result["dim"] == 384 and result["split"] == "even-odd"


@pytest.mark.parametrize(
    "args, message",
    [
        (["compare", "missing-file.txt", "x"], "fastrsa: error: missing-file.txt: no such file"),
        (["split-half", SAMPLE_PATH], "holds several spaces ['static', 'contextual']; choose one with --key"),
        (["compare", SAMPLE_PATH, SAMPLE_PATH, "--key-b", "static"], "choose one with --key-a"),
    ],
)
def test_data_errors_exit_1_with_one_line_and_no_traceback(args, message):
    done = run(*args)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_bad_file_is_named_with_its_line(tmp_path, two_files):
    bad = tmp_path / "bad.txt"
    bad.write_text("a 1 2\nb 1 oops\n", encoding="utf-8")
    done = run("compare", two_files[0], bad)
    assert done.returncode == 1
    assert done.stderr.strip() == f"fastrsa: error: {bad}:2: bad number 'oops'"


def test_too_few_shared_words_suggest_case_folding(two_files):
    done = run("compare", *two_files, "--words", "The Quick Fox")
    assert done.returncode == 1
    assert "share only 0 of the words asked for; RSA needs at least 3 (try --case lower)" in done.stderr


def test_usage_errors_exit_2():
    assert run("compare", "only-one-file").returncode == 2
    assert run("compare", "a", "b", "--method", "kendal").returncode == 2
    assert run("compare", "a", "b", "--permutations", "0").returncode == 2
    assert run().returncode == 2


def test_demo_runs_and_prints_the_published_figures(tmp_path):
    png = tmp_path / "demo.png"
    done = run("demo", "--plot", png)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "exact case: missing ['The']" in out
    assert "pearson  r = 0.4495" in out and "spearman r = 0.4045" in out
    assert "first 2,000 words, pearson  r = 0.5266" in out and "first 2,000 words, spearman r = 0.4480" in out
    assert "static     r = 0.3190" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_python_api_of_the_cli_returns_exit_codes(capsys):
    from fastrsa.cli import main

    assert main(["split-half", SAMPLE_PATH, "--key", "contextual", "--limit", "50", "--split", "random", "--seed", "1"]) == 0
    assert "random split-half pearson RSA (cosine):" in capsys.readouterr().out
    assert main(["compare", SAMPLE_PATH, SAMPLE_PATH, "--key-a", "static", "--key-b", "nope"]) == 1
