"""What a researcher meets first: the CLI's words, files, options and
summary; progress and warnings on long work; the kernels' cache."""

import bz2
import gzip
import io
import json
import lzma
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy.spatial.distance import pdist

import fastrsa
from fastrsa import _progress, _tuning, _warm, api, cli, reference
from fastrsa.embeddings import EmbeddingFileError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYERS = os.path.join(ROOT, "tests", "data", "minilm-layers-500.npz")
SENTENCE = "The quick brown fox jumps over the lazy dog"


def run(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "fastrsa", *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=300,
        env=env,
    )  # fmt: skip


def compare_json(*args):
    done = run("compare", *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def sample():
    return fastrsa.sample_embeddings("static"), fastrsa.sample_embeddings("contextual")


# --- Words ---------------------------------------------------------------------------


def test_exact_case_lists_the_words_used_beside_the_missing_one(sample):
    result = compare_json("sample:static", "sample:contextual", "--words", SENTENCE)
    assert result["missing_a"] == ["The"] and result["missing_b"] == ["The"]
    assert result["words_used"] == ["quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]
    assert result["folded"] == [] and result["merged"] == []
    aligned = fastrsa.align(*sample, result["words_used"])
    assert result["score"] == fastrsa.rsa(aligned.x, aligned.y)


def test_lower_case_says_what_it_folded_and_merged():
    words = "The quick brown fox jumps over the the lazy dog"
    result = compare_json("sample:static", "sample:contextual", "--words", words, "--case", "lower")
    assert result["missing_a"] == [] and result["words_used"][0] == "the" and len(result["words_used"]) == 8
    assert result["folded"] == [["The", "the"]]
    assert result["merged"] == [["the", "the"], ["the", "the"]]
    text = run("compare", "sample:static", "sample:contextual", "--words", words, "--case", "lower").stdout
    assert "case folded: The -> the" in text
    assert "left out as repeats: the, the" in text
    assert "words used: the, quick, brown, fox, jumps, over, lazy, dog" in text


def test_align_reports_folded_and_merged_words():
    a = fastrsa.Embeddings(["Apple", "apple", "pear"], np.eye(3))
    b = fastrsa.Embeddings(["apple", "pear", "fig"], np.eye(3))
    lower = fastrsa.align(a, b, case="lower")
    assert lower.words == ["apple", "pear"]
    assert lower.folded == (("Apple", "apple"),) and lower.merged == (("apple", "apple"),)
    exact = fastrsa.align(a, b, ["pear", "apple", "pear"])
    assert exact.words == ["pear", "apple"] and exact.folded == () and exact.merged == (("pear", "pear"),)


def test_few_pairs_get_a_caution_with_the_bootstrap_interval(sample):
    result = compare_json("sample:static", "sample:contextual", "--words", "dog cat horse fox bird", "--method", "spearman")
    assert result["n_pairs"] == 10
    aligned = fastrsa.align(*sample, "dog cat horse fox bird")
    interval = fastrsa.bootstrap_ci(aligned.x, aligned.y, method="spearman", n_boot=_tuning.FEW_PAIRS_RESAMPLES, seed=0)
    assert result["caution_ci_low"] == interval.low and result["caution_ci_high"] == interval.high
    assert result["caution"].startswith("only 5 words (10 pairs): too few for the score to mean much")
    text = run("compare", "sample:static", "sample:contextual", "--words", "dog cat horse fox bird").stdout
    assert "caution: only 5 words (10 pairs)" in text and "95% bootstrap interval over these words is [" in text
    asked = compare_json("sample:static", "sample:contextual", "--top", "6", "--bootstrap", "50", "--confidence", "0.8", "--seed", "4")
    assert (asked["caution_ci_low"], asked["caution_ci_high"]) == (asked["ci_low"], asked["ci_high"])  # (the call's own)
    assert "its 80% bootstrap interval" in asked["caution"]


def test_three_words_get_a_caution_even_without_an_interval():
    result = compare_json("sample:static", "sample:contextual", "--words", "dog cat horse")
    assert result["n_pairs"] == 3 and result["caution"].startswith("only 3 words (3 pairs)")
    # (every resample that counts holds all three items: one value, no interval)
    assert result["caution"].endswith("too few even for a bootstrap interval") and "caution_ci_low" not in result
    kendall = compare_json("sample:static", "sample:contextual", "--words", "dog cat horse fox", "--method", "kendall")
    assert "bootstrap interval that shows how wide" in kendall["caution"] and "caution_ci_low" not in kendall


def test_many_pairs_get_no_caution():
    result = compare_json("sample:static", "sample:contextual", "--top", "15")
    assert result["n_pairs"] == 105 >= _tuning.FEW_PAIRS and result["caution"] is None
    empty = run("compare", "sample:static", "sample:contextual", "--words", " ")
    assert empty.returncode == 1 and "--words gives no words" in empty.stderr


# --- Files and options ---------------------------------------------------------------


def test_the_bundled_sample_is_a_file_name(sample):
    result = compare_json("sample:static", "sample:contextual", "--limit", "400")
    assert result["n_items"] == 400
    assert result["score"] == fastrsa.rsa(sample[0].vectors[:400], sample[1].vectors[:400])
    done = run("compare", "sample:static", "sample:other")
    assert done.returncode == 1 and "the bundled sample's spaces are sample:static, sample:contextual" in done.stderr
    split = run("split-half", "sample:static", "--limit", "2000", "--json")
    assert json.loads(split.stdout)["score"] == pytest.approx(0.3190, abs=5e-5)  # the data README's figure


@pytest.fixture(scope="module")
def compressed(tmp_path_factory, sample):
    """The first 200 words of the static sample as GloVe text: plain, gzip, bzip2 and xz; and word2vec binary, gzip."""
    folder = tmp_path_factory.mktemp("compressed")
    emb = sample[0]
    text = "".join(word + " " + " ".join(f"{v:.6g}" for v in emb[word]) + "\n" for word in emb.words[:200])
    paths = {"plain": folder / "glove.txt"}
    paths["plain"].write_text(text, encoding="utf-8")
    for name, module in (("gz", gzip), ("bz2", bz2), ("xz", lzma)):
        paths[name] = folder / f"glove.txt.{name}"
        with module.open(paths[name], "wt", encoding="utf-8") as file:
            file.write(text)
    binary = f"200 {emb.dim}\n".encode() + b"".join(
        word.encode() + b" " + emb[word].astype("<f4").tobytes() + b"\n" for word in emb.words[:200]
    )
    paths["binary"] = folder / "vectors.bin.gz"
    with gzip.open(paths["binary"], "wb") as file:
        file.write(binary)
    return paths


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz"])
def test_compressed_text_files_read_as_the_plain_one(compressed, kind):
    plain = fastrsa.load_embeddings(compressed["plain"])
    read = fastrsa.load_embeddings(compressed[kind])
    assert read.words == plain.words and np.array_equal(read.vectors, plain.vectors)


def test_a_compressed_word2vec_binary_file_and_the_cli(compressed, sample):
    read = fastrsa.load_embeddings(compressed["binary"])
    assert read.words == sample[0].words[:200] and np.array_equal(read.vectors, sample[0].vectors[:200])
    result = compare_json(compressed["gz"], compressed["binary"])
    assert result["n_items"] == 200


def test_a_truncated_compressed_file_is_a_clear_error(tmp_path, compressed):
    bad = tmp_path / "cut.txt.gz"
    bad.write_bytes(compressed["gz"].read_bytes()[:3000])
    with pytest.raises(EmbeddingFileError, match=r"cut\.txt\.gz: cannot decompress it \(gzip: "):
        fastrsa.load_embeddings(bad)
    done = run("compare", bad, compressed["gz"])
    assert done.returncode == 1 and "cannot decompress it" in done.stderr and "Traceback" not in done.stderr
    for kind in ("gz", "bz2", "xz"):  # (bytes changed inside the compressed stream)
        flipped = bytearray(compressed[kind].read_bytes())
        flipped[40:60] = bytes(255 - value for value in flipped[40:60])
        bad = tmp_path / f"flipped.txt.{kind}"
        bad.write_bytes(bytes(flipped))
        with pytest.raises(EmbeddingFileError, match=r"cannot decompress it"):
            fastrsa.load_embeddings(bad)


def test_a_compressed_binary_file_that_compresses_well_loads(tmp_path):
    # (2,000 vectors of one repeated value: their gzip is some 100 times smaller than they are)
    binary = b"2000 100\n" + b"".join(f"w{k}".encode() + b" " + np.full(100, k % 7 + 1, "<f4").tobytes() + b"\n" for k in range(2000))
    path = tmp_path / "repeated.bin.gz"
    with gzip.open(path, "wb") as file:
        file.write(binary)
    assert path.stat().st_size * 50 < len(binary)
    emb = fastrsa.load_embeddings(path)
    assert len(emb) == 2000 and emb["w8"][0] == 2.0
    short = tmp_path / "short.bin.gz"  # (a header promising more than the file holds)
    with gzip.open(short, "wb") as file:
        file.write(b"3000 100\n" + binary[len(b"2000 100\n"):])
    with pytest.raises(EmbeddingFileError, match=r"word 2001: the file ends early"):
        fastrsa.load_embeddings(short)


def test_a_key_for_a_file_that_is_not_an_npz_is_refused(compressed):
    done = run("compare", compressed["gz"], "sample:static", "--key-a", "vectors")
    assert done.returncode == 1 and "--key-a chooses an array of an .npz file" in done.stderr
    with pytest.raises(ValueError, match=r"key=3: expected the name of an array"):
        fastrsa.load_embeddings(compressed["plain"], key=3)


def test_a_layer_of_a_3d_array_is_addressed_by_index():
    hidden = np.load(LAYERS)["hidden"]
    for key, layer in (("hidden[3]", 3), ("hidden:3", 3), ("hidden[-1]", 6)):
        emb = fastrsa.load_embeddings(LAYERS, key=key)
        assert np.array_equal(emb.vectors, hidden[layer].astype(np.float32))
    with pytest.raises(EmbeddingFileError, match=r"'hidden' holds 7 layers \(0 to 6\); there is no layer 7"):
        fastrsa.load_embeddings(LAYERS, key="hidden[7]")
    with pytest.raises(EmbeddingFileError, match=r"'hidden' holds 7 layers: choose one with key= as 'hidden\[0\]'"):
        fastrsa.load_embeddings(LAYERS)
    with pytest.raises(EmbeddingFileError, match=r"'static' is one 2-D space, not layers; choose it with key='static'"):
        fastrsa.load_embeddings(fastrsa.embeddings.SAMPLE_PATH, key="static[2]")
    result = compare_json(LAYERS, LAYERS, "--key-a", "hidden[0]", "--key-b", "hidden:6")
    assert result["score"] == fastrsa.rsa(hidden[0].astype(np.float32), hidden[6].astype(np.float32))


def test_version_alternative_and_confidence(sample):
    done = run("--version")
    assert done.returncode == 0 and done.stdout.startswith("fastrsa ")
    options = ("--top", "40", "--permutations", "99", "--alternative", "greater", "--bootstrap", "50",
               "--confidence", "0.8", "--seed", "2")  # fmt: skip
    result = compare_json("sample:static", "sample:contextual", *options)
    x, y = sample[0].vectors[:40], sample[1].vectors[:40]
    assert result["pvalue"] == fastrsa.permutation_test(x, y, permutations=99, alternative="greater", seed=2).pvalue
    interval = fastrsa.bootstrap_ci(x, y, n_boot=50, confidence=0.8, seed=2)
    assert (result["ci_low"], result["ci_high"], result["confidence"]) == (interval.low, interval.high, 0.8)
    text = run("compare", "sample:static", "sample:contextual", *options).stdout
    assert "99 permutations, greater" in text and "80% interval (50 bootstrap resamples)" in text
    fine = run("compare", "sample:static", "sample:contextual", "--top", "40", "--bootstrap", "20", "--confidence", "0.999999")
    assert "99.9999% interval (20 bootstrap resamples)" in fine.stdout
    refused = run("compare", "sample:static", "sample:contextual", "--confidence", "1.5")
    assert refused.returncode == 2 and "'1.5' is not a number between 0 and 1" in refused.stderr
    alone = run("compare", "sample:static", "sample:contextual", "--alternative", "less")
    assert alone.returncode == 2 and "--alternative is for --permutations" in alone.stderr
    alone = run("compare", "sample:static", "sample:contextual", "--confidence", "0.9")
    assert alone.returncode == 2 and "--confidence is for --bootstrap" in alone.stderr


# --- The summary: no pass over every pair ---------------------------------------------


def test_summary_counts_every_pair_up_to_its_limit(sample):
    x, y = sample[0].vectors[:300], sample[1].vectors[:300]
    summary = api.similarity_summary(x, y)
    a, b = 1 - pdist(x.astype(np.float64), "cosine"), 1 - pdist(y.astype(np.float64), "cosine")
    assert not summary["share_sampled"] and summary["share_pairs"] == a.size
    assert summary["share_b_higher"] == summary["share_b_higher_low"] == summary["share_b_higher_high"]
    assert summary["share_b_higher"] == pytest.approx((b > a).mean(), abs=1e-12)
    assert summary["mean_sim_a"] == pytest.approx(a.mean(), abs=1e-12)


def test_summary_past_its_limit_samples_pairs_with_an_interval_that_holds(sample, monkeypatch):
    x, y = sample[0].vectors[:1500], sample[1].vectors[:1500]
    a, b = 1 - pdist(x.astype(np.float64), "cosine"), 1 - pdist(y.astype(np.float64), "cosine")
    exact = (b > a).mean()
    monkeypatch.setattr(_tuning, "SUMMARY_PAIRS", 1 << 14)
    monkeypatch.setattr(_tuning, "SUMMARY_SAMPLE", 1 << 14)
    inside = 0
    for seed in range(20):
        summary = api.similarity_summary(x, y, seed=seed)
        assert summary["share_sampled"] and summary["share_pairs"] == 1 << 14
        assert summary["share_b_higher_low"] < summary["share_b_higher"] < summary["share_b_higher_high"]
        assert summary["share_b_higher_high"] - summary["share_b_higher_low"] < 0.02
        inside += summary["share_b_higher_low"] <= exact <= summary["share_b_higher_high"]
        assert summary["mean_sim_a"] == pytest.approx(a.mean(), abs=1e-12)  # (the means stay exact)
    assert inside >= 16  # a 95% interval: 19 of 20 expected; fewer than 16 has chance below 2%
    assert api.similarity_summary(x, y, seed=3) == api.similarity_summary(x, y, seed=3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("metric", ["cosine", "correlation"])
def test_the_sampled_pairs_are_counted_as_the_reference_counts_them(sample, monkeypatch, dtype, metric):
    x, y = (space.vectors[:900].astype(dtype) for space in sample)
    y = y * dtype(1e-150 if dtype == np.float64 else 1e-20)  # (the rows' affines carry any magnitude)
    monkeypatch.setattr(_tuning, "SUMMARY_PAIRS", 1000)
    monkeypatch.setattr(_tuning, "SUMMARY_SAMPLE", 5000)
    summary = api.similarity_summary(x, y, metric=metric, seed=7)
    rng = np.random.default_rng(7)  # (the draws similarity_summary makes)
    first = rng.integers(0, 900, 5000)
    second = rng.integers(0, 899, 5000)
    second += second >= first
    sims = [reference.rsm(space.astype(np.float64) / np.abs(space).max(), metric) for space in (x, y)]
    from scipy.spatial.distance import squareform

    square = [squareform(values) for values in sims]
    a, b = square[0][first, second], square[1][first, second]
    margin = np.abs(b - a) > 1e-12  # (pairs nearer than rounding may go either way)
    expected = np.count_nonzero((b > a) & margin)
    assert expected <= summary["share_b_higher"] * 5000 <= expected + np.count_nonzero(~margin)
    reference_means = [values.mean() for values in sims]
    assert [summary["mean_sim_a"], summary["mean_sim_b"]] == pytest.approx(reference_means, abs=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [3, 4097, 4098 + 4096])  # (the fewest items; one and two blocks of unit_sums past a whole one)
def test_the_sampled_summary_at_odd_sizes(dtype, n, monkeypatch):
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, 5)).astype(dtype)
    y = (x + rng.standard_normal(x.shape)).astype(dtype)
    monkeypatch.setattr(_tuning, "SUMMARY_PAIRS", 2)
    monkeypatch.setattr(_tuning, "SUMMARY_SAMPLE", 3000)
    summary = api.similarity_summary(x, y, metric="correlation")
    assert summary["share_sampled"]
    reference_means = [reference.rsm(space.astype(np.float64), "correlation").mean() for space in (x, y)]
    assert [summary["mean_sim_a"], summary["mean_sim_b"]] == pytest.approx(reference_means, abs=1e-11)
    rng = np.random.default_rng(0)  # (the draws similarity_summary makes with its default seed)
    first = rng.integers(0, n, 3000)
    second = rng.integers(0, n - 1, 3000)
    second += second >= first
    units = []
    for space in (x, y):
        centred = space.astype(np.float64) - space.astype(np.float64).mean(axis=1, keepdims=True)
        units.append(centred / np.linalg.norm(centred, axis=1, keepdims=True))
    a, b = ((unit[first] * unit[second]).sum(axis=1) for unit in units)
    margin = np.abs(b - a) > 1e-12  # (pairs nearer than rounding may go either way)
    counted = summary["share_b_higher"] * 3000
    assert np.count_nonzero((b > a) & margin) <= counted <= np.count_nonzero((b > a) | ~margin)


def test_the_cli_says_when_the_share_is_from_a_sample(monkeypatch, capsys):
    monkeypatch.setattr(_tuning, "SUMMARY_PAIRS", 1 << 10)
    monkeypatch.setattr(_tuning, "SUMMARY_SAMPLE", 1 << 10)
    assert cli.main(["compare", "sample:static", "sample:contextual", "--top", "100"]) == 0
    assert "from 1,024 random pairs)" in capsys.readouterr().out


# --- Progress and long calls -----------------------------------------------------------


@pytest.fixture
def spaces():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((300, 20))
    return X, X + rng.standard_normal(X.shape)


def _captured(monkeypatch, call):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    return call(), stream.getvalue()


@pytest.mark.parametrize("function", ["permutation_test", "mantel", "bootstrap_ci"])
def test_progress_says_what_and_how_long_then_counts_the_draws(spaces, monkeypatch, function):
    X, Y = spaces
    count = {"bootstrap_ci": "n_boot"}.get(function, "permutations")
    args = (fastrsa.rdm(X), fastrsa.rdm(Y)) if function == "mantel" else (X, Y)
    call = getattr(fastrsa, function)
    quiet = call(*args, **{count: 500}, seed=1, progress=False)
    shown, text = _captured(monkeypatch, lambda: call(*args, **{count: 500}, seed=1, progress=True))
    assert repr(shown) == repr(quiet) and np.array_equal(getattr(shown, "distribution", 0), getattr(quiet, "distribution", 0))
    first, _, rest = text.partition("\n")
    assert first.startswith(f"{function} over 300 items with 500 ") and first.endswith(" by the cost model")
    assert "  0.0% done" in rest and "100.0% done" in rest and rest.endswith("\n")
    _, silent = _captured(monkeypatch, lambda: call(*args, **{count: 500}, seed=1, progress=False))
    assert silent == ""


def test_a_long_call_without_progress_warns_how_long(spaces, monkeypatch):
    X, Y = spaces
    monkeypatch.setattr(_tuning, "LONG_CALL_SECONDS", 0.0)
    with pytest.warns(fastrsa.LongCallWarning, match=r"permutation_test over 300 items with 99 permutations will take about") as caught:
        fastrsa.permutation_test(X, Y, permutations=99)
    assert caught[0].filename == __file__  # (named at the caller's line)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastrsa.permutation_test(X, Y, permutations=99, progress=False)


def test_rsa_says_how_long_before_a_long_call(spaces, monkeypatch):
    X, Y = spaces
    monkeypatch.setattr(_tuning, "PROGRESS_WORK", 0)
    score, text = _captured(monkeypatch, lambda: fastrsa.rsa(X, Y, method="spearman", progress=True))
    assert score == fastrsa.rsa(X, Y, method="spearman", progress=False)
    assert text == "rsa(method='spearman', metric='cosine') over 300 items: about 0:00 by the cost model\n"
    monkeypatch.setattr(_tuning, "LONG_CALL_SECONDS", 0.0)
    with pytest.warns(fastrsa.LongCallWarning, match=r"over 300 items will take about .* or use fewer items, or method='pearson'"):
        fastrsa.rsa(X, Y, method="spearman")
    with pytest.warns(fastrsa.LongCallWarning, match=r"by the Gram matrices .* or use fewer items$"):  # (no pairs already)
        fastrsa.rsa(X, Y)
    monkeypatch.setattr(_tuning, "PROGRESS_WORK", 1 << 60)  # (a small call: nothing said, nothing formatted)
    _, text = _captured(monkeypatch, lambda: fastrsa.rsa(X, Y, method="spearman", progress=True))
    assert text == ""


def test_the_estimate_is_the_cost_model_at_its_rates(spaces):
    X, Y = spaces
    plan = fastrsa.plan(fastrsa.permutation_test, X, Y, permutations=999)
    expected = sum(
        max(stage.flops / _tuning.MULTIPLY_ADDS_PER_SECOND, stage.bytes_moved / _tuning.BYTES_PER_SECOND) for stage in plan.stages
    )
    assert _progress.estimate_seconds(plan.stages, threads=_tuning.RATES_THREADS) == pytest.approx(expected, rel=1e-12)
    assert _progress.estimate_seconds(plan.stages, threads=4 * _tuning.RATES_THREADS) == pytest.approx(expected / 4, rel=1e-12)
    with pytest.raises(ValueError, match=r"progress='yes' is not supported; use None"):
        fastrsa.permutation_test(X, Y, progress="yes")


def test_the_cli_prints_a_long_calls_warning_in_one_line_in_its_terms(monkeypatch, capsys):
    monkeypatch.setattr(_tuning, "LONG_CALL_SECONDS", 0.0)
    monkeypatch.setattr(sys, "argv", ["fastrsa", "compare", "sample:static", "sample:contextual", "--top", "50", "--bootstrap", "20"])
    shown = warnings.showwarning
    with pytest.raises(SystemExit) as exit:
        cli.console()
    assert exit.value.code == 0 and warnings.showwarning is shown  # (the process's warning settings as they were)
    err = capsys.readouterr().err
    assert "fastrsa: LongCallWarning: bootstrap_ci over 50 items with 20 resamples will take about" in err
    assert "add --progress to see how far it is, or pass fewer resamples (--bootstrap)" in err
    assert len(err.strip().splitlines()) == 1


def test_cli_progress_shows_the_permutations(capsys):
    assert cli.main(["compare", "sample:static", "sample:contextual", "--top", "50", "--permutations", "99", "--progress"]) == 0
    err = capsys.readouterr().err
    assert "permutation_test over 50 items with 99 permutations: about" in err and "100.0% done" in err


# --- Compiling ---------------------------------------------------------------------------


def test_the_cache_knows_a_kernel_that_ran(spaces):
    fastrsa.rsa(*spaces)
    kernels = _warm.dispatchers()
    assert len(kernels) > 50 and len({id(kernel) for kernel in kernels}) == len(kernels)
    from fastrsa._kernels.normalize import normalize_rows_into

    assert normalize_rows_into in kernels and _warm.cached(normalize_rows_into)


def test_an_empty_cache_is_cold_and_the_cli_says_it_compiles(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    probe = "from fastrsa import _warm; uncached, total = _warm.cold(); print(uncached == total > 0, _warm.is_cold())"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.stdout.split() == ["True", "True"], done.stderr


def test_the_compile_notice(monkeypatch, capsys):
    monkeypatch.setattr(_warm, "is_cold", lambda: True)
    cli._say_compiling("compare")
    assert "fastrsa: compiling its kernels on first use" in capsys.readouterr().err
    cli._say_compiling("warm-up")
    assert capsys.readouterr().err == ""


def test_warm_up_runs_every_call_and_leaves_the_kernels_cached():
    done = run("warm-up")
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()
    uncached, total = _warm.cold()
    assert f"{total - uncached} of {total} kernels cached" in last[-2]
    assert uncached <= total // 10, [kernel.py_func.__qualname__ for kernel in _warm.dispatchers() if not _warm.cached(kernel)]
