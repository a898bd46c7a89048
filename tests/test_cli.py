"""The command line, run as a user runs it: in a subprocess."""

import json
import os
import subprocess
import sys

import numpy as np
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
        "score", "method", "metric", "n_items", "n_pairs", "words_used", "missing_a", "missing_b", "folded", "merged",
        "caution", "caution_ci_low", "caution_ci_high", "mean_sim_a", "mean_sim_b", "share_b_higher",
        "share_b_higher_low", "share_b_higher_high", "share_pairs", "share_sampled", "seconds",
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


def one_line_error(done, code):
    """The run failed with ``code`` and said why in one line of its own words."""
    assert done.returncode == code, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr and "usage:" not in done.stderr, done.stderr
    return lines[0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["compare", "a", "b", "--method", "kendal"], "fastrsa compare: error: argument --method: invalid choice"),
        (["compare", "a", "b", "--top", "abc"], "argument --top: 'abc' is not a positive integer"),
        (["compare", "a", "b", "--seed", "-1"], "argument --seed: '-1' is not a non-negative integer"),
        (["split-half"], "fastrsa split-half: error: the following arguments are required: a"),
        ([], "fastrsa: error: the following arguments are required"),
    ],
)
def test_usage_errors_are_one_line_exit_2(args, message):
    line = one_line_error(run(*args), 2)
    assert message in line and line.endswith("--help)")


def write_glove(path, rows):
    path.write_text("".join(f"{word} {' '.join(map(str, vector))}\n" for word, vector in rows), encoding="utf-8")
    return path


@pytest.fixture
def small_files(tmp_path):
    rng = np.random.default_rng(0)
    words = ["the", "quick", "brown", "fox", "jumps"]
    rows = [(word, rng.standard_normal(6).round(4)) for word in words]
    return tmp_path, write_glove(tmp_path / "a.txt", rows), write_glove(tmp_path / "b.txt", rows), rows


@pytest.mark.parametrize(
    "vector, metric, problem",
    [
        ([0, 0, 0, 0, 0, 0], "cosine", "is all zeros; cosine similarity needs vectors of non-zero length"),
        (["nan", 1, 2, 3, 4, 5], "cosine", "holds NaN or inf"),
        ([2, 2, 2, 2, 2, 2], "correlation", "is constant; --metric correlation needs vectors whose values vary"),
    ],
)
def test_a_vector_metric_cannot_take_is_named_by_file_and_word(small_files, vector, metric, problem):
    folder, a, b, rows = small_files
    rows = [(word, vector if word == "fox" else values) for word, values in rows]
    bad = write_glove(folder / "bad.txt", rows)
    line = one_line_error(run("compare", a, bad, "--metric", metric), 1)
    assert line.startswith(f"fastrsa: error: {bad}: the vector of 'fox' {problem}")
    line = one_line_error(run("split-half", bad, "--metric", metric), 1)
    assert line.startswith(f"fastrsa: error: {bad}: the vector of 'fox' {problem.split(';')[0]}")


def test_split_half_names_the_word_whose_half_is_zero(small_files):
    folder, a, b, rows = small_files
    rows = [(word, [1, 0, 2, 0, 3, 0] if word == "fox" else values) for word, values in rows]
    bad = write_glove(folder / "bad.txt", rows)
    line = one_line_error(run("split-half", bad), 1)
    assert line.startswith(f"fastrsa: error: {bad}: the vector of 'fox' is all zeros in its odd dimensions;")
    assert run("split-half", bad, "--split", "halves").returncode == 0  # each half of fox's vector is non-zero


def test_a_corrupt_npz_and_an_absurd_header_are_data_errors(tmp_path, small_files):
    a = small_files[1]
    npz = tmp_path / "emb.npz"
    npz.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    assert one_line_error(run("compare", npz, a), 1).startswith(f"fastrsa: error: {npz}: not a readable .npz")
    binary = tmp_path / "emb.bin"
    binary.write_bytes(b"2000000000 400\n" + b"fox " + bytes(1600))  # a 2.9 TiB allocation, were it made
    line = one_line_error(run("compare", a, binary), 1)
    assert line.startswith(f"fastrsa: error: {binary}:1: the header promises 2,000,000,000 words of 400 numbers")


def test_a_memory_refusal_is_one_line_in_the_commands_terms(two_files, monkeypatch, capsys):
    from fastrsa import InsufficientMemoryError, cli

    def refuse(*args, **kwargs):
        raise InsufficientMemoryError(
            "rsa(method='spearman', metric='cosine') over 300 items needs about 80.00 GiB of memory but 4.00 GiB "
            "is available; method='pearson' with metric='cosine' or 'correlation' needs no pairs and fits",
            80 * 2**30,
            4 * 2**30,
        )

    monkeypatch.setattr(cli.api, "rsa", refuse)
    assert cli.main(["compare", *map(str, two_files), "--method", "spearman"]) == 1
    error = capsys.readouterr().err
    assert error == (
        "fastrsa: error: --method spearman over 305 words needs about 80.00 GiB of memory but 4.00 GiB is "
        "available; --method pearson needs no pairs and fits; or use fewer words (--top K, --words or --limit K)\n"
    )
    def fail(*args, **kwargs):
        raise MemoryError()  # NumPy's kind: no figures

    monkeypatch.setattr(cli.api, "rsa", fail)
    assert cli.main(["compare", *map(str, two_files)]) == 1
    assert capsys.readouterr().err == (
        "fastrsa: error: not enough memory for --method pearson over 305 words; use fewer words (--top K, --words "
        "or --limit K)\n"
    )


def test_api_advice_is_rephrased_as_options():
    from fastrsa.cli import _as_options

    assert _as_options("use method='pearson', which needs no extra memory") == (
        "use --method pearson, which needs no extra memory"
    )
    assert _as_options("seed=-1 is not allowed; try n_boot=100 and split='random'") == (
        "--seed -1 is not allowed; try --bootstrap 100 and --split random"
    )
    assert _as_options("fewer Numba threads (numba.set_num_threads)") == (
        "fewer Numba threads (the NUMBA_NUM_THREADS environment variable)"
    )


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="watches the child's open files in /proc")
def test_ctrl_c_exits_130_with_one_line(tmp_path):
    import signal
    import time

    big = tmp_path / "big.txt"
    vector = " ".join(["0.125"] * 10)
    big.write_text("".join(f"w{i} {vector}\n" for i in range(200_000)), encoding="utf-8")  # seconds to read
    child = subprocess.Popen(
        [sys.executable, "-m", "fastrsa", "compare", big, big],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        fds = f"/proc/{child.pid}/fd"
        while not any(os.path.realpath(os.path.join(fds, fd)) == os.path.realpath(big) for fd in _listdir(fds)):
            assert child.poll() is None and time.monotonic() < deadline, "the file was never opened"
            time.sleep(0.01)
        child.send_signal(signal.SIGINT)  # while the file is read: long before the run could end
        out, err = child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode == 130, err
    assert err == "fastrsa: interrupted\n" and out == ""


def _listdir(folder):
    try:
        return os.listdir(folder)
    except OSError:
        return []


def test_constant_similarities_are_named_by_file(small_files):
    folder, a, b, rows = small_files
    one_direction = [(word, [k, 2 * k, 3 * k]) for k, (word, _) in enumerate(rows, 1)]  # every cosine 1
    same = write_glove(folder / "same.txt", one_direction)
    line = one_line_error(run("compare", a, same), 1)
    assert line.startswith(f"fastrsa: error: the similarities of the words in {same} has zero variance")
    halves = write_glove(folder / "halves.txt", [(word, [*first, *values[:3]]) for (word, first), (_, values) in
                                                 zip(one_direction, rows)])  # fmt: skip
    line = one_line_error(run("split-half", halves, "--split", "halves"), 1)
    assert line.startswith(f"fastrsa: error: the similarities of the words in {halves}, in their first half of the "
                           f"dimensions, has zero variance")


def test_compare_binned_says_so_and_reports_its_bound(two_files, capsys):
    a, b = two_files
    done = run("compare", a, b, "--method", "spearman", "--binned", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    aligned = fastrsa.align(fastrsa.load_embeddings(a), fastrsa.load_embeddings(b))
    exact = fastrsa.rsa(aligned.x, aligned.y, "spearman")
    assert 0 < result["error_bound"] <= 1e-3 and abs(result["score"] - exact) <= result["error_bound"]
    from fastrsa import cli

    assert cli.main(["compare", str(a), str(b), "--method", "spearman", "--binned"]) == 0
    assert "binned ranks (as asked (--binned)): within" in capsys.readouterr().out
    refused = run("compare", a, b, "--binned")
    assert refused.returncode == 2 and "--binned is for --method spearman" in refused.stderr


def test_compare_on_a_local_cluster_gives_the_scores_of_the_call_without_one(two_files):
    pytest.importorskip("distributed")
    a, b = two_files
    here = json.loads(run("compare", a, b, "--permutations", "99", "--bootstrap", "50", "--seed", "1", "--json").stdout)
    done = run("compare", a, b, "--permutations", "99", "--bootstrap", "50", "--seed", "1", "--json", "--workers", "2")
    assert done.returncode == 0, done.stderr
    there = json.loads(done.stdout)
    for key in ("score", "pvalue", "ci_low", "ci_high"):
        assert there[key] == here[key], key
    refused = run("compare", a, b, "--method", "kendall", "--workers", "2")
    assert refused.returncode == 2 and "--scheduler and --workers run --method pearson" in refused.stderr
    both = run("compare", a, b, "--workers", "2", "--scheduler", "tcp://127.0.0.1:1")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    gone = run("compare", a, b, "--scheduler", "tcp://127.0.0.1:1")
    assert gone.returncode == 1 and gone.stderr.startswith("fastrsa: error: --scheduler tcp://127.0.0.1:1: no Dask scheduler")


LAYERS = os.path.join(ROOT, "tests", "data", "minilm-layers-500.npz")


def test_matrix_json_csv_and_plot_of_a_layer_file(tmp_path):
    expected = fastrsa.rsa_matrix(LAYERS, method="spearman")
    done = run("matrix", LAYERS, "--method", "spearman", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["names"] == list(expected.row_names) and result["n_items"] == 500
    assert np.array_equal(np.array(result["matrix"]), expected.matrix)
    done = run("matrix", LAYERS, "--method", "cka", "--csv", "--plot", tmp_path / "m.png")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "," + ",".join(expected.row_names) and len(lines) == 8
    cka = fastrsa.rsa_matrix(LAYERS, method="cka").matrix
    assert np.array_equal(np.array([[float(v) for v in line.split(",")[1:]] for line in lines[1:]]), cka)
    assert (tmp_path / "m.png").stat().st_size > 5000
    text = run("matrix", LAYERS).stdout
    assert "pearson RSA (cosine) of 7 spaces over 500 items" in text and "layer6" in text.splitlines()[-1]


def test_matrix_matches_words_across_files(two_files):
    """Text files with their own vocabularies: the spaces are compared over the words they share."""
    done = run("matrix", *two_files, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["names"] == ["static", "contextual"]
    static, contextual = (fastrsa.load_embeddings(path) for path in two_files)
    shared = fastrsa.align(static, contextual)
    assert result["n_items"] == len(shared.words)
    assert result["matrix"][0][1] == pytest.approx(fastrsa.rsa(shared.x, shared.y), abs=1e-12)


def test_matrix_errors_are_one_line(tmp_path):
    np.savez(tmp_path / "bare.npz", space=np.random.default_rng(0).standard_normal((20, 4)))
    line = one_line_error(run("matrix", tmp_path / "bare.npz", LAYERS), 1)
    assert "has no words" in line
    np.savez(tmp_path / "short.npz", a=np.ones((5, 3)) + np.eye(5, 3), b=np.ones((4, 3)))
    assert "same items" in one_line_error(run("matrix", tmp_path / "short.npz"), 1)
    assert "--json" in one_line_error(run("matrix", LAYERS, "--json", "--csv"), 2)


def test_matrix_files_of_one_name_stay_apart(two_files, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder, source in zip(("a", "b"), two_files):
        (tmp_path / folder / "model.txt").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    done = run("matrix", tmp_path / "a" / "model.txt", tmp_path / "b" / "model.txt", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["names"] == ["model", "b/model"]
