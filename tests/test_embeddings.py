"""Loaders on small files the tests write, alignment policies, split_half, rsa_words."""

import struct

import numpy as np
import pytest

import fastrsa
from fastrsa import EmbeddingFileError, Embeddings, align, load_embeddings, reference, rsa_words
from fastrsa.embeddings import detect_format

WORDS = ["the", "quick", "brown", "fox", "naïve", "東京"]


@pytest.fixture
def vectors(rng):
    return rng.standard_normal((len(WORDS), 4)).round(5)


def write_text(path, words, vectors, header=False, newline="\n"):
    lines = [f"{len(words)} {vectors.shape[1]}"] if header else []
    lines += [word + " " + " ".join(f"{v:.5f}" for v in row) for word, row in zip(words, vectors)]
    path.write_bytes((newline.join(lines) + newline).encode("utf-8"))
    return path


def write_binary(path, words, vectors):
    with open(path, "wb") as file:
        file.write(f"{len(words)} {vectors.shape[1]}\n".encode())
        for word, row in zip(words, vectors):
            file.write(word.encode("utf-8") + b" " + struct.pack(f"<{len(row)}f", *row) + b"\n")
    return path


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("header, expected_format", [(False, "glove"), (True, "word2vec")])
def test_text_formats_are_detected_and_read(tmp_path, vectors, newline, header, expected_format):
    path = write_text(tmp_path / "emb.txt", WORDS, vectors, header=header, newline=newline)
    assert detect_format(path) == expected_format
    emb = load_embeddings(path)
    assert emb.words == WORDS
    assert emb.vectors.dtype == np.float32
    np.testing.assert_allclose(emb.vectors, vectors, atol=1e-6)


def test_word2vec_binary_is_detected_and_read(tmp_path, vectors):
    path = write_binary(tmp_path / "emb.bin", WORDS, vectors)
    assert detect_format(path) == "word2vec-binary"
    emb = load_embeddings(path, dtype=np.float64)
    assert emb.words == WORDS and emb.vectors.dtype == np.float64
    np.testing.assert_allclose(emb.vectors, vectors.astype(np.float32))


def test_npz_is_detected_and_its_space_chosen_by_key(tmp_path, vectors):
    path = tmp_path / "emb.dat"  # the suffix says nothing: the content does
    with open(path, "wb") as file:
        np.savez(file, words=np.array(WORDS), static=vectors, contextual=-vectors)
    assert detect_format(path) == "npz"
    np.testing.assert_allclose(load_embeddings(path, key="contextual").vectors, -vectors, atol=1e-6)
    with pytest.raises(EmbeddingFileError, match=r"several spaces \['static', 'contextual'\]; choose one with key="):
        load_embeddings(path)
    with pytest.raises(EmbeddingFileError, match=r"no 2-D array 'other'"):
        load_embeddings(path, key="other")


def test_a_word_with_spaces_keeps_them(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("new york 1.0 2.0\n. . . 3.0 4.0\ncity 5.0 6.5\n", encoding="utf-8")
    assert load_embeddings(path).words == ["new york", ". . .", "city"]


@pytest.mark.parametrize("writer", ["glove", "word2vec", "binary", "npz"])
def test_limit_keeps_the_first_words(tmp_path, vectors, writer):
    path = tmp_path / "emb"
    if writer == "npz":
        path = tmp_path / "emb.npz"
        np.savez(path, words=np.array(WORDS), vectors=vectors)
    elif writer == "binary":
        write_binary(path, WORDS, vectors)
    else:
        write_text(path, WORDS, vectors, header=writer == "word2vec")
    emb = load_embeddings(path, limit=3)
    assert emb.words == WORDS[:3] and emb.vectors.shape == (3, 4)


def test_repeated_words_keep_the_first_and_are_reported(tmp_path, vectors):
    path = write_text(tmp_path / "dup.txt", WORDS[:3] + ["quick", "the"], vectors[:5])
    with pytest.warns(UserWarning, match="2 repeated words dropped"):
        emb = load_embeddings(path)
    assert emb.words == WORDS[:3] and emb.dropped_duplicates == 2
    np.testing.assert_allclose(emb["quick"], vectors[1], atol=1e-6)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"a 1.0 2.0\nb 3.0\n", r"bad.txt:2: ragged row: expected a word and 2 numbers, got 1"),
        (b"a 1.0 2.0\nb 3.0 x7\n", r"bad.txt:2: bad number 'x7'"),
        (b"a 1.0 2.0\nb 3.0 4.0 5.0\n", r"bad.txt:2: wrong dimension: 3 numbers where line 1 has 2"),
        (b"3 2\na 1.0 2.0\nb \xff 1.0 2.0\n", r"bad.txt:3: not UTF-8 text"),
        (b"2 3\na 1.0 2.0\n", r"bad.txt:2: ragged row: expected a word and 3 numbers, got 2"),
        (b"2 1\na 1.0\nb 1.0 2.0\n", r"bad.txt:3: wrong dimension: 2 numbers where the header has 1"),
        (b"a nan 2.0\nb 1.0 2.0\n", None),
    ],
    ids=["ragged", "bad-number", "wrong-dimension", "not-utf8", "short-of-header", "longer-than-header", "nan-is-read"],
)
def test_bad_text_files_name_the_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    if message is None:  # NaN parses; the core refuses it when it is used
        emb = load_embeddings(path)
        with pytest.raises(ValueError, match="NaN or inf"):
            fastrsa.rsm(np.vstack([emb.vectors, emb.vectors + 1]))
        return
    with pytest.raises(EmbeddingFileError, match=message):
        load_embeddings(path)


def test_a_number_as_the_first_word_is_a_word(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("1990 0.5 1.5\nyear 2.0 3.0\n", encoding="utf-8")
    emb = load_embeddings(path)
    assert emb.words == ["1990", "year"] and emb.dim == 2


def test_truncated_binary_file_is_refused(tmp_path, vectors):
    path = write_binary(tmp_path / "cut.bin", WORDS, vectors)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(EmbeddingFileError, match=r"cut.bin: word 6: the file ends early"):
        load_embeddings(path)


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(EmbeddingFileError, match=r"empty.txt: the file is empty"):
        load_embeddings(tmp_path / "empty.txt")
    with pytest.raises(FileNotFoundError, match=r"nowhere.txt: no such file"):
        load_embeddings(tmp_path / "nowhere.txt")


@pytest.mark.parametrize(
    "kwargs, message",
    [({"format": "fasttext"}, "format='fasttext' is not supported"), ({"limit": 0}, "limit=0"), ({"dtype": int}, "dtype")],
)
def test_bad_loader_arguments(tmp_path, vectors, kwargs, message):
    path = write_text(tmp_path / "emb.txt", WORDS, vectors)
    with pytest.raises(ValueError, match=message):
        load_embeddings(path, **kwargs)


def test_embeddings_container(vectors):
    emb = Embeddings(WORDS, vectors)
    assert len(emb) == 6 and emb.dim == 4 and "fox" in emb and "dog" not in emb
    assert emb.index("fox") == 3
    np.testing.assert_array_equal(emb["東京"], vectors[5])
    sub = emb.subset(["fox", "the"])
    assert sub.words == ["fox", "the"]
    np.testing.assert_array_equal(sub.vectors, vectors[[3, 0]])
    with pytest.raises(KeyError, match="'dog' is not in the vocabulary"):
        emb.index("dog")
    with pytest.raises(ValueError, match="words must be unique"):
        Embeddings(["a", "a"], vectors[:2])


def test_sentence_alignment_reports_the_capitalised_word_and_folds_case():
    a = fastrsa.sample_embeddings("static")
    b = fastrsa.sample_embeddings("contextual")
    sentence = "The quick brown fox jumps over the lazy dog."
    exact = align(a, b, sentence)
    assert exact.missing_a == ["The"] and exact.missing_b == ["The"]
    assert exact.words == ["quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]
    lower = align(a, b, sentence, case="lower")
    assert lower.missing_a == [] and lower.words == ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog"]
    np.testing.assert_array_equal(lower.x[0], a["the"])
    np.testing.assert_array_equal(lower.y[-1], b["dog"])
    # The figures of the data's README (SciPy, float64).
    result = rsa_words(a, b, sentence, case="lower")
    assert result.score == pytest.approx(0.4495, abs=5e-5)
    assert rsa_words(a, b, sentence, case="lower", method="spearman").score == pytest.approx(0.4045, abs=5e-5)


def test_alignment_of_whole_vocabularies_in_a_order(vectors):
    a = Embeddings(["The", "fox", "dog", "cat"], vectors[:4])
    b = Embeddings(["cat", "the", "owl", "fox"], vectors[2:6])
    exact = align(a, b)
    assert exact.words == ["fox", "cat"]
    assert exact.missing_a == ["the", "owl"] and exact.missing_b == ["The", "dog"]
    np.testing.assert_array_equal(exact.y, vectors[[5, 2]])
    lower = align(a, b, case="lower")
    assert lower.words == ["the", "fox", "cat"]
    np.testing.assert_array_equal(lower.x[0], vectors[0])


def test_lower_case_keeps_the_first_of_words_that_coincide(vectors):
    a = Embeddings(["Apple", "apple", "pear", "fig"], vectors[:4])
    b = Embeddings(["apple", "pear", "fig"], vectors[:3])
    aligned = align(a, b, ["APPLE", "apple", "pear", "fig"], case="lower")
    assert aligned.words == ["apple", "pear", "fig"]
    np.testing.assert_array_equal(aligned.x[0], vectors[0])  # "Apple", the first once lowered


def test_align_checks_its_arguments(vectors):
    emb = Embeddings(WORDS, vectors)
    with pytest.raises(ValueError, match="case='upper' is not supported; use one of 'exact', 'lower'"):
        align(emb, emb, case="upper")
    with pytest.raises(ValueError, match="b must be an Embeddings"):
        align(emb, vectors)


def test_rsa_words_needs_three_shared_words(vectors):
    emb = Embeddings(WORDS, vectors)
    with pytest.raises(ValueError, match=r"only 2 of the words are in both spaces.*case='lower' may find more"):
        rsa_words(emb, emb, "The Quick brown fox")


@pytest.mark.parametrize("split", ["even-odd", "halves", "random"])
@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_split_half_matches_reference(rng, split, method):
    X = rng.standard_normal((80, 11)) @ rng.standard_normal((11, 11))
    expected = reference.split_half(X, split, method, seed=3)
    assert fastrsa.split_half(X, split, method, seed=3) == pytest.approx(expected, abs=1e-10)


def test_split_half_on_the_sample_matches_the_published_figure():
    static = fastrsa.sample_embeddings("static")
    assert fastrsa.split_half(static.vectors[:2000]) == pytest.approx(0.3190, abs=5e-5)


def test_split_half_checks_its_arguments(rng):
    with pytest.raises(ValueError, match="split='thirds' is not supported"):
        fastrsa.split_half(rng.standard_normal((5, 4)), split="thirds")
    with pytest.raises(ValueError, match="at least 2 features"):
        fastrsa.split_half(rng.standard_normal((5, 1)))
    X = rng.standard_normal((30, 6))
    assert fastrsa.split_half(X, "random", seed=1) == fastrsa.split_half(X, "random", seed=1)
    assert fastrsa.split_half(X, "random", seed=1) != fastrsa.split_half(X, "random", seed=2)


def test_rsa_matches_two_embeddings_by_word(vectors, rng):
    other = rng.standard_normal((len(WORDS), 3))
    a, b = Embeddings(WORDS, vectors), Embeddings(WORDS[::-1], other[::-1])  # b: the same words, reversed
    assert fastrsa.rsa(a, b) == pytest.approx(fastrsa.rsa(vectors, other), abs=1e-12)
    assert fastrsa.rsa(a, b) != pytest.approx(fastrsa.rsa(vectors, other[::-1]), abs=1e-3)
    assert fastrsa.rsa(a, other) == fastrsa.rsa(vectors, other)  # one side unlabelled: by position
    fewer = Embeddings(WORDS[:5] + ["owl"], other)
    with pytest.raises(ValueError, match=r"labels differ: 1 of X's 6 labels are not among Y's and 1 of Y's 6 are not "
                                         r"among X's \(first of X's: '東京'\); fastrsa.rsa_words\(a, b\) compares"):
        fastrsa.rsa(a, fewer)


@pytest.mark.parametrize(
    "words, message",
    [
        (b"the fox", r"^words is bytes; pass text \(words.decode\('utf-8'\)\) or a sequence of str$"),
        (123, r"^words=123 is not allowed; use None, a string of words, or a sequence of str$"),
        (["the", 1], r"^words holds 1 \(int\); every word must be a str$"),
        ([b"fox"], r"^words holds b'fox' \(bytes\); every word must be a str$"),
    ],
)
def test_align_refuses_words_that_are_not_text(vectors, words, message):
    emb = Embeddings(WORDS, vectors)
    with pytest.raises(ValueError, match=message):
        align(emb, emb, words)
    with pytest.raises(ValueError, match=message):
        rsa_words(emb, emb, words)


def test_align_takes_any_sequence_of_str(vectors):
    emb = Embeddings(WORDS, vectors)
    assert align(emb, emb, np.array(["fox", "the"])).words == ["fox", "the"]
    assert align(emb, emb, (word for word in ["brown", "owl"])).missing_a == ["owl"]


@pytest.mark.parametrize("header", [False, True])
def test_a_byte_order_mark_is_not_part_of_the_first_word(tmp_path, vectors, header):
    path = write_text(tmp_path / "emb.txt", WORDS, vectors, header=header)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert detect_format(path) == ("word2vec" if header else "glove")
    emb = load_embeddings(path)
    assert emb.words == WORDS
    np.testing.assert_allclose(emb.vectors, vectors, atol=1e-6)


def test_a_byte_order_mark_before_a_binary_header(tmp_path, vectors):
    path = write_binary(tmp_path / "emb.bin", WORDS, vectors)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert detect_format(path) == "word2vec-binary"
    assert load_embeddings(path).words == WORDS


def test_fields_split_on_runs_of_spaces_and_tabs(tmp_path):
    path = tmp_path / "emb.txt"
    path.write_bytes(
        "fox\t1 2 3\n"
        "dog  4 5 6\n"
        "New York 7 8 9\n"  # a word with a single inner space, as GloVe 840B has
        "cat\t 1\t2  3 \n".encode()
    )
    emb = load_embeddings(path, dtype=np.float64)
    assert emb.words == ["fox", "dog", "New York", "cat"]
    np.testing.assert_array_equal(emb.vectors, [[1, 2, 3], [4, 5, 6], [7, 8, 9], [1, 2, 3]])
    path.write_bytes(path.read_bytes() + b"\t1 0 1\n")  # no word before the numbers
    with pytest.raises(EmbeddingFileError, match=r":5: ragged row"):
        load_embeddings(path)


def test_a_corrupt_npz_is_an_embedding_file_error(tmp_path, vectors):
    path = tmp_path / "emb.npz"
    np.savez(path, words=np.array(WORDS), vectors=vectors)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])  # cut in half: the zip's directory is gone
    with pytest.raises(EmbeddingFileError, match=rf"^{path}: not a readable .npz \(zip\) archive"):
        load_embeddings(path)
    np.savez(path, words=np.array(WORDS, dtype=object), vectors=vectors)  # pickled: refused by NumPy
    with pytest.raises(EmbeddingFileError, match=rf"^{path}: an array in the .npz cannot be read"):
        load_embeddings(path)


def test_a_header_promising_more_than_the_file_holds_is_refused_before_allocating(tmp_path, vectors):
    path = write_binary(tmp_path / "emb.bin", WORDS, vectors)
    body = path.read_bytes().partition(b"\n")[2]
    path.write_bytes(b"1000000000000 300\n" + body)  # 1.2 PB of float32, were it allocated
    with pytest.raises(EmbeddingFileError, match=r":1: the header promises 1,000,000,000,000 words of 300 numbers"):
        load_embeddings(path, format="word2vec-binary")
    path.write_bytes(b"6 0\n" + body)
    with pytest.raises(EmbeddingFileError, match=r":1: the header gives 0 numbers per word"):
        load_embeddings(path, format="word2vec-binary")
    assert load_embeddings(write_binary(path, WORDS, vectors), limit=2).words == WORDS[:2]
    text = tmp_path / "emb.txt"
    text.write_bytes(b"3 100000000000\nfox 1 2\ndog 3 4\ncat 5 6\n")
    with pytest.raises(EmbeddingFileError, match=r":2: ragged row: expected a word and 100000000000 numbers"):
        load_embeddings(text, format="word2vec")
