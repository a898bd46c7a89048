"""The ``fastrsa`` command: compare two embedding files, split one in half, or run the demo.

Exit codes: 0 success; 2 a usage error (argparse's); 1 a data error, reported
in one line that names the file and the problem.
"""

import argparse
import json
import sys
import time

from . import api, stats
from .embeddings import EmbeddingFileError, align, load_embeddings, sample_embeddings

SENTENCE = "The quick brown fox jumps over the lazy dog"
# Words in a few clear groups, so the demo's heatmaps show block structure.
PLOT_WORDS = (
    "dog cat horse fox bird fish red blue green black white one two three four five "
    "king queen man woman boy girl father mother city town river sea mountain "
    "happy good bad run walk jumps lazy"
)


class DataError(Exception):
    """A problem with the user's data: reported in one line, exit code 1."""


def _parser():
    parser = argparse.ArgumentParser(prog="fastrsa", description="Fast representational similarity analysis.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{compare,split-half,demo}")

    compare = commands.add_parser("compare", help="RSA score of two embedding files over shared words")
    compare.add_argument("a", help="first embeddings file (GloVe, word2vec text/binary, .npz)")
    compare.add_argument("b", help="second embeddings file")
    chosen = compare.add_mutually_exclusive_group()
    chosen.add_argument("--words", help="the words to compare, as one string (default: the shared vocabulary)")
    chosen.add_argument("--words-file", help="a file of words, split on white space")
    chosen.add_argument("--top", type=_positive, metavar="K", help="the first K shared words, in A's order")
    compare.add_argument("--method", choices=api._validate.METHODS, default="pearson")
    compare.add_argument("--metric", choices=api._validate.SIMILARITY_METRICS, default="cosine")
    compare.add_argument("--case", choices=("exact", "lower"), default="exact")
    compare.add_argument("--key-a", help="which space of an .npz A holds")
    compare.add_argument("--key-b", help="which space of an .npz B holds")
    compare.add_argument("--limit", type=_positive, metavar="K", help="read only the first K words of each file")
    compare.add_argument(
        "--permutations", type=_positive, metavar="N", help="Mantel test with N permutations: adds pvalue"
    )
    compare.add_argument(
        "--bootstrap", type=_positive, metavar="B", help="B resamples of the words: adds a 95%% ci_low, ci_high"
    )
    compare.add_argument("--seed", type=int, help="seed of the permutations and resamples (repeatable results)")
    compare.add_argument("--plot", metavar="PNG", help="write the two similarity matrices and the scatter here")
    compare.add_argument("--json", action="store_true", help="print one JSON object")
    compare.add_argument("--progress", action="store_true", help="progress bar while loading, even off a terminal")

    split = commands.add_parser("split-half", help="RSA between two halves of one space's dimensions")
    split.add_argument("a", help="embeddings file")
    split.add_argument("--split", choices=api.SPLITS, default="even-odd")
    split.add_argument("--seed", type=int, help="for --split random")
    split.add_argument("--method", choices=api._validate.METHODS, default="pearson")
    split.add_argument("--metric", choices=api._validate.SIMILARITY_METRICS, default="cosine")
    split.add_argument("--key", help="which space of an .npz file")
    split.add_argument("--limit", type=_positive, metavar="K", help="read only the first K words")
    split.add_argument("--json", action="store_true", help="print one JSON object")
    split.add_argument("--progress", action="store_true", help="progress bar while loading, even off a terminal")

    demo = commands.add_parser("demo", help="run on the sample data shipped with fastrsa")
    demo.add_argument("--plot", metavar="PNG", help="also write the pictures here")
    return parser


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def _load(path, key, limit, progress):
    return load_embeddings(path, key=key, limit=limit, progress=True if progress else None)


def _words_from_file(path):
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read the word list ({error})") from None


def _show_words(words, most=20):
    shown = ", ".join(words[:most])
    return f"{shown}, ... ({len(words)} in all)" if len(words) > most else shown or "none"


def _compare(args):
    a = _load(args.a, args.key_a, args.limit, args.progress)
    b = _load(args.b, args.key_b, args.limit, args.progress)
    words = args.words if args.words is not None else _words_from_file(args.words_file) if args.words_file else None
    start = time.perf_counter()
    aligned = align(a, b, words, case=args.case)
    if args.top is not None:
        aligned = aligned._replace(
            x=aligned.x[: args.top], y=aligned.y[: args.top], words=aligned.words[: args.top]
        )
    n = len(aligned.words)
    if n < 3:
        hint = "" if args.case == "lower" else " (try --case lower)"
        raise DataError(f"{args.a} and {args.b} share only {n} of the words asked for; RSA needs at least 3{hint}")
    score = api.rsa(aligned.x, aligned.y, method=args.method, metric=args.metric)
    summary = api.similarity_summary(aligned.x, aligned.y, metric=args.metric)
    inference = {}
    if args.permutations:
        test = stats.permutation_test(
            aligned.x, aligned.y, method=args.method, metric=args.metric, permutations=args.permutations, seed=args.seed
        )
        inference.update(pvalue=test.pvalue, permutations=test.permutations)
    if args.bootstrap:
        interval = stats.bootstrap_ci(
            aligned.x, aligned.y, method=args.method, metric=args.metric, n_boot=args.bootstrap, seed=args.seed
        )
        inference.update(ci_low=interval.low, ci_high=interval.high, confidence=interval.confidence)
    seconds = time.perf_counter() - start
    result = {
        "score": score,
        **inference,
        "method": args.method,
        "metric": args.metric,
        "n_items": n,
        "n_pairs": n * (n - 1) // 2,
        "missing_a": aligned.missing_a,
        "missing_b": aligned.missing_b,
        **summary,
        "seconds": seconds,
    }
    if args.plot:
        _save_plot(aligned.x, aligned.y, aligned.words, args.method, args.metric, (args.a, args.b), args.plot)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.method} RSA ({args.metric} similarities): {score:.4f}")
    if args.permutations:
        print(f"p-value (Mantel test, {args.permutations:,} permutations, two-sided): {inference['pvalue']:.4g}")
    if args.bootstrap:
        low, high = inference["ci_low"], inference["ci_high"]
        print(f"95% interval ({args.bootstrap:,} bootstrap resamples): [{low:.4f}, {high:.4f}]")
    print(f"items: {n:,}   pairs: {result['n_pairs']:,}")
    print(f"missing in A: {_show_words(aligned.missing_a)}")
    print(f"missing in B: {_show_words(aligned.missing_b)}")
    print(f"mean similarity: A {summary['mean_sim_a']:.4f}   B {summary['mean_sim_b']:.4f}")
    print(f"pairs more similar in B than in A: {summary['share_b_higher']:.1%}")
    print(f"seconds: {seconds:.3f}")
    if args.plot:
        print(f"plot: {args.plot}")


def _split_half(args):
    emb = _load(args.a, args.key, args.limit, args.progress)
    start = time.perf_counter()
    score = api.split_half(emb.vectors, split=args.split, method=args.method, metric=args.metric, seed=args.seed)
    seconds = time.perf_counter() - start
    result = {
        "score": score,
        "split": args.split,
        "method": args.method,
        "metric": args.metric,
        "n_items": len(emb),
        "n_pairs": len(emb) * (len(emb) - 1) // 2,
        "dim": emb.dim,
        "seconds": seconds,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.split} split-half {args.method} RSA ({args.metric}): {score:.4f}")
        print(f"items: {len(emb):,}   dimensions: {emb.dim} split into two halves   seconds: {seconds:.3f}")


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def _demo(args):
    static, contextual = sample_embeddings("static"), sample_embeddings("contextual")
    print(f"Sample data: {len(static):,} English words in two 384-d spaces of all-MiniLM-L6-v2")
    print("  static = input token embeddings, contextual = mean-pooled output for each word alone\n")

    print(f'1. The sentence "{SENTENCE}"')
    exact = align(static, contextual, SENTENCE)
    print(f"   exact case: missing {exact.missing_a} (the vocabulary is lower-cased)")
    lower = align(static, contextual, SENTENCE, case="lower")
    print(f"   case='lower': {len(lower.words)} distinct words: {' '.join(lower.words)}")
    for method in api._validate.METHODS:
        print(f"   {method:8s} r = {api.rsa(lower.x, lower.y, method=method):.4f}")

    n = len(static)
    print(f"\n2. All {n:,} words ({n * (n - 1) // 2:,} pairs), static vs contextual")
    for method in api._validate.METHODS:
        score, seconds = _timed(api.rsa, static.vectors, contextual.vectors, method=method)
        print(f"   {method:8s} r = {score:.4f}   ({seconds * 1000:.0f} ms)")
    first = slice(0, 2000)
    for method in api._validate.METHODS:
        score = api.rsa(static.vectors[first], contextual.vectors[first], method=method)
        print(f"   first 2,000 words, {method:8s} r = {score:.4f}")

    print("\n3. Split-half redundancy: even vs odd dimensions, first 2,000 words")
    for name, emb in (("static", static), ("contextual", contextual)):
        score, seconds = _timed(api.split_half, emb.vectors[first])
        print(f"   {name:10s} r = {score:.4f}   ({seconds * 1000:.0f} ms)")
    if args.plot:
        shown = align(static, contextual, PLOT_WORDS)
        _save_plot(shown.x, shown.y, shown.words, "pearson", "cosine", ("static", "contextual"), args.plot)
        print(f"\nplot: {args.plot}")


def _save_plot(X, Y, labels, method, metric, names, path):
    try:
        from .plot import plot_rsa

        figure = plot_rsa(X, Y, labels=labels, method=method, metric=metric, names=names)
    except ImportError as error:
        raise DataError(str(error)) from None
    try:
        figure.savefig(path, dpi=110)
    except OSError as error:
        raise DataError(f"{path}: cannot write the plot ({error.strerror or error})") from None


def main(argv=None):
    args = _parser().parse_args(argv)
    run = {"compare": _compare, "split-half": _split_half, "demo": _demo}[args.command]
    try:
        run(args)
    except (DataError, EmbeddingFileError, ValueError, OSError) as error:
        message = str(error) if not isinstance(error, OSError) else f"{error.filename}: {error.strerror}"
        if isinstance(error, FileNotFoundError) and error.filename is None:
            message = str(error)
        print(f"fastrsa: error: {message}", file=sys.stderr)
        return 1
    return 0
