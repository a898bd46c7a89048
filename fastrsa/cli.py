"""The ``fastrsa`` command: compare two embedding files, split one in half,
compare many spaces at once (``matrix``), or run the demo.

Exit codes: 0 success; 2 a usage error; 1 a data error (a file, a word, the
memory); 130 interrupted (Ctrl-C).  Every error is one line on stderr, in the
command's terms: options (``--method pearson``), files and words rather than
the API's arguments (``method='pearson'``) and rows.
"""

import argparse
import contextlib
import importlib.metadata
import json
import os
import re
import sys
import time
import warnings

import numpy as np

from . import _tuning, _warm, api, stats, sweeps
from ._binned import ApproximateScore
from ._metrics import of as metric_of
from .embeddings import SAMPLE_SPACES, EmbeddingFileError, Embeddings, align, detect_format, load_embeddings, sample_embeddings

SENTENCE = "The quick brown fox jumps over the lazy dog"
# Words in a few clear groups, so the demo's heatmaps show block structure.
PLOT_WORDS = (
    "dog cat horse fox bird fish red blue green black white one two three four five "
    "king queen man woman boy girl father mother city town river sea mountain "
    "happy good bad run walk jumps lazy"
)


# A file named this way is the bundled sample's space: "sample:static", "sample:contextual".
SAMPLE_PREFIX = "sample:"


class DataError(Exception):
    """A problem with the user's data: reported in one line, exit code 1."""


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line (exit code 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser():
    parser = _Parser(prog="fastrsa", description="Fast representational similarity analysis.")
    parser.add_argument("--version", action="version", version=f"fastrsa {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{compare,split-half,matrix,demo,warm-up}")
    files = (
        "(GloVe, word2vec text/binary, .npz; gzip, bzip2 or xz compressed; sample:static or sample:contextual "
        "for the bundled sample)"
    )

    compare = commands.add_parser("compare", help="RSA score of two embedding files over shared words")
    compare.add_argument("a", help=f"first embeddings file {files}")
    compare.add_argument("b", help="second embeddings file")
    chosen = compare.add_mutually_exclusive_group()
    chosen.add_argument("--words", help="the words to compare, as one string (default: the shared vocabulary)")
    chosen.add_argument("--words-file", help="a file of words, split on white space")
    chosen.add_argument("--top", type=_positive, metavar="K", help="the first K shared words, in A's order")
    compare.add_argument("--method", choices=api._validate.METHODS, default="pearson")
    compare.add_argument("--metric", choices=api._validate.SIMILARITY_METRICS, default="cosine")
    compare.add_argument("--case", choices=("exact", "lower"), default="exact")
    compare.add_argument("--key-a", help="which space of an .npz A holds (one layer of a 3-D array: hidden[3] or hidden:3)")
    compare.add_argument("--key-b", help="which space of an .npz B holds")
    compare.add_argument("--limit", type=_positive, metavar="K", help="read only the first K words of each file")
    compare.add_argument(
        "--permutations", type=_positive, metavar="N", help="Mantel test with N permutations: adds pvalue"
    )
    compare.add_argument(
        "--alternative", choices=stats.ALTERNATIVES, help="of the Mantel test (--permutations; default: two-sided)"
    )
    compare.add_argument(
        "--bootstrap", type=_positive, metavar="B", help="B resamples of the words: adds a ci_low, ci_high"
    )
    compare.add_argument(
        "--confidence", type=_share, metavar="C", help="of the bootstrap interval (--bootstrap), between 0 and 1 (default: 0.95)"
    )
    compare.add_argument(
        "--seed", type=_non_negative, help="seed of the permutations and resamples (repeatable results)"
    )
    compare.add_argument(
        "--binned", action="store_true",
        help="Spearman from binned ranks even where the exact ones fit (taken anyway where they do not): adds error_bound",
    )
    compare.add_argument("--plot", metavar="PNG", help="write the two similarity matrices and the scatter here")
    compare.add_argument("--json", action="store_true", help="print one JSON object")
    compare.add_argument(
        "--progress", action="store_true",
        help="progress bars while loading, over binned ranks, permutations and resamples, even off a terminal",
    )
    cluster = compare.add_mutually_exclusive_group()
    cluster.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="run the score, the Mantel test and the bootstrap on the Dask cluster of this running scheduler "
        "(tcp://host:8786; needs fastrsa[dask], see docs/distributed.md)",
    )
    cluster.add_argument(
        "--workers", type=_positive, metavar="K", help="the same on a local Dask cluster of K processes started for this call",
    )

    split = commands.add_parser("split-half", help="RSA between two halves of one space's dimensions")
    split.add_argument("a", help=f"embeddings file {files}")
    split.add_argument("--split", choices=api.SPLITS, default="even-odd")
    split.add_argument("--seed", type=_non_negative, help="for --split random")
    split.add_argument("--method", choices=api._validate.METHODS, default="pearson")
    split.add_argument("--metric", choices=api._validate.SIMILARITY_METRICS, default="cosine")
    split.add_argument("--key", help="which space of an .npz file")
    split.add_argument("--limit", type=_positive, metavar="K", help="read only the first K words")
    split.add_argument("--json", action="store_true", help="print one JSON object")
    split.add_argument("--progress", action="store_true", help="progress bar while loading, even off a terminal")

    matrix = commands.add_parser("matrix", help="RSA (or CKA) between every pair of many spaces: a layer sweep")
    matrix.add_argument(
        "files", nargs="+", metavar="FILE",
        help="embeddings files (GloVe, word2vec text/binary) or .npz files of one or several spaces (2-D arrays, "
        "or a 3-D array of layers named by a 1-D string array such as 'layers')",
    )
    matrix.add_argument("--method", choices=sweeps.MATRIX_METHODS, default="pearson")
    matrix.add_argument("--metric", choices=api._validate.DISTANCE_METRICS, default="cosine")
    matrix.add_argument("--limit", type=_positive, metavar="K", help="only the first K items (words) of each space")
    shown = matrix.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="print one JSON object")
    shown.add_argument("--csv", action="store_true", help="print the matrix as CSV, names in the first row and column")
    matrix.add_argument("--plot", metavar="PNG", help="write the heatmap here")

    demo = commands.add_parser("demo", help="run on the sample data shipped with fastrsa")
    demo.add_argument("--plot", metavar="PNG", help="also write the pictures here")

    commands.add_parser(
        "warm-up", help="compile and cache every kernel now (once per install: for clusters and containers)",
        description="Compile fastrsa's Numba kernels and write them to Numba's cache, so that no later call "
        "(nor a cluster's worker started from this install) compiles.",
    )  # fmt: skip
    return parser


def _version():
    try:
        return importlib.metadata.version("fastrsa")
    except importlib.metadata.PackageNotFoundError:  # (run from a source tree, not installed)
        return "unknown (not installed)"


def _share(text):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number between 0 and 1")
    return value


def _positive(text):
    value = _integer(text)
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _non_negative(text):
    value = _integer(text)
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a non-negative integer")
    return value


def _integer(text):
    try:
        return int(text)
    except ValueError:
        return None


def _check_options(args):
    """Usage errors argparse cannot see: options that do not go together."""
    resampling = getattr(args, "permutations", None) or getattr(args, "bootstrap", None)
    if resampling and args.method not in stats.RESAMPLE_METHODS:
        _usage_error(
            args,
            f"--permutations and --bootstrap take --method pearson or --method spearman, not --method {args.method}",
        )
    for option, needs in (("alternative", "permutations"), ("confidence", "bootstrap")):
        if getattr(args, option, None) is not None and not getattr(args, needs):
            _usage_error(args, f"--{option} is for --{needs} (add --{needs} N, or leave --{option} out)")
    if getattr(args, "binned", False) and args.method != "spearman":
        _usage_error(args, f"--binned is for --method spearman (--method {args.method} has no binned path)")
    clustered = getattr(args, "scheduler", None) or getattr(args, "workers", None)
    if clustered and not (args.method == "spearman" or args.method == "pearson" and metric_of(args.metric).similarity):
        _usage_error(
            args,
            "--scheduler and --workers run --method pearson (cosine or correlation) and --method spearman (binned); "
            f"--method {args.method} --metric {args.metric} runs in one process: leave them out",
        )


@contextlib.contextmanager
def _cluster(args):
    """The Dask client of --scheduler or --workers (None without them),
    closed (with the local cluster it started) when the command ends."""
    if not (getattr(args, "scheduler", None) or getattr(args, "workers", None)):
        yield None
        return
    try:
        import distributed
    except ImportError:
        raise DataError("--scheduler and --workers need Dask: pip install 'fastrsa[dask]'") from None
    if args.scheduler:
        try:
            client = distributed.Client(args.scheduler, timeout=30)
        except (OSError, TimeoutError) as error:
            raise DataError(f"--scheduler {args.scheduler}: no Dask scheduler answered ({error})") from None
        with client:
            yield client
        return
    environment = dict(os.environ)
    with distributed.LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as cluster, distributed.Client(cluster) as client:
        os.environ.clear()  # (LocalCluster leaves its workers' settings, OPENBLAS_NUM_THREADS=1 and others, here)
        os.environ.update(environment)
        yield client


def _usage_error(args, message):
    """Exit with a usage error of the command, as argparse's (exit code 2)."""
    prog = f"fastrsa {args.command}"
    print(f"{prog}: error: {message} (see {prog} --help)", file=sys.stderr)
    raise SystemExit(2)


# The API's arguments that are the command's options, and how errors name them.
_OPTION_OF = {
    "method": "--method",
    "metric": "--metric",
    "split": "--split",
    "seed": "--seed",
    "case": "--case",
    "limit": "--limit",
    "permutations": "--permutations",
    "n_boot": "--bootstrap",
}
_API_ARGUMENT = re.compile(r"\b(" + "|".join(_OPTION_OF) + r")=(?:'([^']*)'|([\w.+-]+))")


def _as_options(message):
    """An API error's advice in the command's terms: ``method='pearson'``
    becomes ``--method pearson``, Numba's thread setting its variable."""
    message = _API_ARGUMENT.sub(lambda match: f"{_OPTION_OF[match[1]]} {match[2] or match[3]}", message)
    return message.replace("numba.set_num_threads", "the NUMBA_NUM_THREADS environment variable")


def _gib(nbytes):
    return f"{nbytes / 2**30:.2f} GiB"


@contextlib.contextmanager
def _memory_for(what, advice):
    """A memory refusal (or NumPy's MemoryError) inside, as a DataError
    naming ``what`` and the options that need less."""
    try:
        yield
    except MemoryError as error:
        needed, available = getattr(error, "needed", None), getattr(error, "available", None)
        if needed is None or available is None:
            raise DataError(f"not enough memory for {what}; {advice}") from None
        raise DataError(
            f"{what} needs about {_gib(needed)} of memory but {_gib(available)} is available; {advice}"
        ) from None


def _load(path, key, limit, progress, key_option="--key"):
    if key is not None and (str(path).startswith(SAMPLE_PREFIX) or not _is_npz(path)):
        raise DataError(f"{key_option} chooses an array of an .npz file; {path} is not one (leave {key_option} out)")
    if str(path).startswith(SAMPLE_PREFIX):
        space = str(path)[len(SAMPLE_PREFIX) :]
        if space not in SAMPLE_SPACES:
            raise DataError(f"{path}: the bundled sample's spaces are {', '.join(SAMPLE_PREFIX + name for name in SAMPLE_SPACES)}")
        emb = sample_embeddings(space)
        return emb if limit is None else Embeddings(emb.words[:limit], emb.vectors[:limit])
    with _memory_for(f"loading {path}", "read fewer words with --limit K"):
        try:
            return load_embeddings(path, key=key, limit=limit, progress=True if progress else None)
        except EmbeddingFileError as error:
            raise DataError(str(error).replace("with key=", f"with {key_option}")) from None


def _is_npz(path):
    try:
        return os.path.isfile(path) and detect_format(path) == "npz"
    except EmbeddingFileError:
        return False


def _vector_problem(path, words, vectors, metric, columns=None, part=""):
    """The first word whose vector ``metric`` cannot take, in one line, or None.
    ``columns`` are the dimensions used (None: all), ``part`` says which."""
    if columns is not None:
        vectors = vectors[:, columns]
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():
        return f"{path}: the vector of {words[int(np.argmin(finite))]!r} holds NaN or inf"
    rows = metric_of(metric)
    if rows.similarity and not rows.centred:
        zero = ~vectors.any(axis=1)
        if zero.any():
            return (
                f"{path}: the vector of {words[int(np.argmax(zero))]!r} is all zeros{part}; cosine similarity "
                f"needs vectors of non-zero length (leave the word out)"
            )
    elif rows.centred:
        constant = vectors.min(axis=1) == vectors.max(axis=1)
        if constant.any():
            return (
                f"{path}: the vector of {words[int(np.argmax(constant))]!r} is constant{part}; --metric "
                f"correlation needs vectors whose values vary (use --metric cosine, or leave the word out)"
            )
    return None


@contextlib.contextmanager
def _named_vectors(metric, spaces, names):
    """A refusal of the API's rows inside, as a DataError naming the file and
    the word: ``spaces`` holds the arguments of ``_vector_problem`` for each
    space used.  Other refusals are worded with ``names``, pairs of how the
    API names a space and how the command does."""
    try:
        yield
    except ValueError as error:
        for space in spaces:
            problem = _vector_problem(*space[:3], metric, *space[3:])
            if problem:
                raise DataError(problem) from None
        message = str(error)
        for api_name, name in names:
            message = message.replace(api_name, name)
        raise DataError(_as_options(message)) from None


def _rank_advice(method, fewer):
    """What needs less memory than ``method`` over the words."""
    if method in api._validate.RANK_METHODS:
        return f"--method pearson needs no pairs and fits; or use fewer words ({fewer})"
    return f"use fewer words ({fewer})"


def _words_from_file(path):
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read the word list ({error})") from None


def _show_words(words, most=20):
    shown = ", ".join(words[:most])
    return f"{shown}, ... ({len(words):,} in all)" if len(words) > most else shown or "none"


def _compare(args):
    a = _load(args.a, args.key_a, args.limit, args.progress, "--key-a")
    b = _load(args.b, args.key_b, args.limit, args.progress, "--key-b")
    words = args.words if args.words is not None else _words_from_file(args.words_file) if args.words_file else None
    if words is not None and not words.split():
        raise DataError(f"{'--words' if args.words is not None else args.words_file} gives no words")
    start = time.perf_counter()
    aligned = align(a, b, words, case=args.case)
    if args.top is not None:
        aligned = aligned._replace(x=aligned.x[: args.top], y=aligned.y[: args.top], words=aligned.words[: args.top])
    n = len(aligned.words)
    if n < 3:
        hint = " (try --case lower)" if args.case == "exact" and words is not None and aligned.missing_a + aligned.missing_b else ""
        asked = "of the words asked for" if words is not None else "words" if args.top is None else f"words in --top {args.top}"
        raise DataError(f"{args.a} and {args.b} share only {n} {asked}; RSA needs at least 3{hint}")
    spaces = [(args.a, aligned.words, aligned.x), (args.b, aligned.words, aligned.y)]
    names = [(name, f"the similarities of the words in {path}") for name, path in zip(api.PAIR_NAMES, (args.a, args.b))]
    fewer = "--top K, --words or --limit K"
    progress = True if args.progress else None
    with _named_vectors(args.metric, spaces, names), _cluster(args) as client:
        with _memory_for(f"--method {args.method} over {n:,} words", _rank_advice(args.method, fewer)):
            exact = False if args.binned else None
            score = api.rsa(
                aligned.x, aligned.y, method=args.method, metric=args.metric, exact=exact, progress=progress, client=client,
            )  # fmt: skip
            summary = api.similarity_summary(aligned.x, aligned.y, metric=args.metric)
        inference = {}
        if args.permutations:
            with _memory_for(f"the Mantel test (--permutations) over {n:,} words", f"use fewer words ({fewer})"):
                test = stats.permutation_test(
                    aligned.x, aligned.y, method=args.method, metric=args.metric, permutations=args.permutations,
                    alternative=args.alternative or "two-sided", seed=args.seed, client=client, progress=progress,
                )  # fmt: skip
            inference.update(pvalue=test.pvalue, permutations=test.permutations, alternative=test.alternative)
        if args.bootstrap:
            advice = f"use fewer words ({fewer}), or fewer threads (the NUMBA_NUM_THREADS environment variable)"
            with _memory_for(f"the bootstrap (--bootstrap) over {n:,} words", advice):
                interval = stats.bootstrap_ci(
                    aligned.x, aligned.y, method=args.method, metric=args.metric, n_boot=args.bootstrap,
                    confidence=args.confidence or 0.95, seed=args.seed, client=client, progress=progress,
                )  # fmt: skip
            inference.update(ci_low=interval.low, ci_high=interval.high, confidence=interval.confidence)
        caution = _few_pairs(aligned, args, interval if args.bootstrap else None) if n * (n - 1) // 2 < _tuning.FEW_PAIRS else None
    seconds = time.perf_counter() - start
    binned = isinstance(score, ApproximateScore)
    result = {
        "score": float(score),
        **({"error_bound": score.error_bound} if binned else {}),
        **inference,
        "method": args.method,
        "metric": args.metric,
        "n_items": n,
        "n_pairs": n * (n - 1) // 2,
        "words_used": aligned.words,
        "missing_a": aligned.missing_a,
        "missing_b": aligned.missing_b,
        "folded": [list(pair) for pair in aligned.folded],
        "merged": [list(pair) for pair in aligned.merged],
        "caution": caution and caution["text"],
        **({"caution_ci_low": caution["low"], "caution_ci_high": caution["high"]} if caution and "low" in caution else {}),
        **summary,
        "seconds": seconds,
    }
    if args.plot:
        _save_plot(aligned.x, aligned.y, aligned.words, args.method, args.metric, (args.a, args.b), args.plot)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.method} RSA ({args.metric} similarities): {score:.4f}")
    if binned:
        why = "as asked (--binned)" if args.binned else "the exact ranks of every pair do not fit in memory"
        print(f"binned ranks ({why}): within {score.error_bound:.2g} of the exact score, guaranteed")
    if args.permutations:
        print(f"p-value (Mantel test, {args.permutations:,} permutations, {inference['alternative']}): {inference['pvalue']:.4g}")
    if args.bootstrap:
        low, high = inference["ci_low"], inference["ci_high"]
        print(f"{_percent(inference['confidence'])} interval ({args.bootstrap:,} bootstrap resamples): [{low:.4f}, {high:.4f}]")
    if caution:
        print(f"caution: {caution['text']}")
    print(f"items: {n:,}   pairs: {result['n_pairs']:,}")
    print(f"words used: {_show_words(aligned.words)}")
    print(f"missing in A: {_show_words(aligned.missing_a)}")
    print(f"missing in B: {_show_words(aligned.missing_b)}")
    if aligned.folded:
        print(f"case folded: {_show_words([f'{word} -> {folded}' for word, folded in aligned.folded])}")
    if aligned.merged:
        merged = [f"{word} (as {kept})" if word != kept else word for word, kept in aligned.merged]
        print(f"left out as repeats: {_show_words(merged)}")
    print(f"mean similarity: A {summary['mean_sim_a']:.4f}   B {summary['mean_sim_b']:.4f}")
    share = f"pairs more similar in B than in A: {summary['share_b_higher']:.2%}"
    if summary["share_sampled"]:
        low, high = summary["share_b_higher_low"], summary["share_b_higher_high"]
        share += f" (95% interval {low:.2%} to {high:.2%}, from {summary['share_pairs']:,} random pairs)"
    print(share)
    print(f"seconds: {seconds:.3f}")
    if args.plot:
        print(f"plot: {args.plot}")


def _percent(share):
    return f"{share * 100:.10g}%"


def _few_pairs(aligned, args, interval=None):
    """The caution a score over fewer than ``_tuning.FEW_PAIRS`` pairs gets:
    how few, and the bootstrap interval over these words that shows how
    little the score says (where the method has one, and the words give
    resamples that differ: three items give only resamples of all three).
    ``interval``: the call's own bootstrap (--bootstrap), where it made one;
    else one of ``_tuning.FEW_PAIRS_RESAMPLES`` resamples from --seed (or 0)."""
    n = len(aligned.words)
    text = f"only {n} words ({n * (n - 1) // 2} pairs): too few for the score to mean much"
    if args.method not in stats.RESAMPLE_METHODS:
        return {"text": f"{text}; --method pearson or spearman gives a bootstrap interval that shows how wide"}
    try:
        interval = interval or stats.bootstrap_ci(
            aligned.x, aligned.y, method=args.method, metric=args.metric, n_boot=_tuning.FEW_PAIRS_RESAMPLES,
            seed=0 if args.seed is None else args.seed,
        )  # fmt: skip
    except ValueError:  # (too few items for resamples whose pairs vary)
        interval = None
    if interval is None or np.unique(interval.distribution).size < 2:
        return {"text": f"{text}, too few even for a bootstrap interval"}
    return {
        "text": f"{text}; its {_percent(interval.confidence)} bootstrap interval over these words is [{interval.low:.2f}, {interval.high:.2f}]",
        "low": interval.low, "high": interval.high,
    }  # fmt: skip


# The dimensions in each half of a split.
_HALVES = {
    "even-odd": ("even", "odd"),
    "halves": ("first half of the", "second half of the"),
    "random": ("random half of the", "other"),
}


def _split_half(args):
    emb = _load(args.a, args.key, args.limit, args.progress)
    if len(emb) < 3 or emb.dim < 2:
        raise DataError(
            f"{args.a}: {len(emb)} words of {emb.dim} dimensions; split-half needs at least 3 words and 2 dimensions"
        )
    start = time.perf_counter()
    halves = api._split_columns(emb.dim, args.split, args.seed)  # split_half's, for the same seed
    spaces = [(args.a, emb.words, emb.vectors)]
    spaces += [
        (args.a, emb.words, emb.vectors, columns, f" in its {half} dimensions")
        for columns, half in zip(halves, _HALVES[args.split])
    ]
    names = [
        (f"the similarities of {api_name}", f"the similarities of the words in {args.a}, in their {half} dimensions,")
        for api_name, half in zip(api._half_names(emb.dim, args.split), _HALVES[args.split])
    ]
    what, advice = f"--method {args.method} over {len(emb):,} words", _rank_advice(args.method, "--limit K")
    with _named_vectors(args.metric, spaces, names), _memory_for(what, advice):
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


def _spaces_of_file(path, limit):
    """``[(name, words or None, vectors), ...]`` of one FILE of ``matrix``:
    an .npz's spaces (``sweeps.labelled``; words from a 1-D string array as
    long as the spaces, where there is one), or an embeddings file's one."""
    if str(path).endswith(".npz") and os.path.isfile(path):
        names, arrays = sweeps.labelled(path, path)
        with np.load(path, allow_pickle=False) as archive:
            labels = [archive[key] for key in archive.files if archive[key].ndim == 1 and archive[key].dtype.kind in "US"]
        spaces = []
        for name, array in zip(names, arrays):
            # (The words: a string array as long as the space; not the names of a 3-D array's layers.)
            words = next((list(map(str, label)) for label in labels if label.size == array.shape[0] != len(names)), None)
            spaces.append((name, words, array))
        return [(name, None if words is None else words[:limit], array[:limit]) for name, words, array in spaces]
    emb = _load(path, None, limit, False)
    return [(os.path.splitext(os.path.basename(path))[0], list(emb.words), emb.vectors)]


def _matrix(args):
    start = time.perf_counter()
    found = []
    for path in args.files:
        spaces = _spaces_of_file(path, args.limit)
        prefix = os.path.splitext(os.path.basename(path))[0]
        for name, words, vectors in spaces:
            label = name if len(args.files) == 1 or len(spaces) == 1 and name == prefix else f"{prefix}:{name}"
            if label in {seen for seen, _, _ in found}:  # (two files of one name: the folder says which)
                label = f"{os.path.basename(os.path.dirname(os.path.abspath(path)))}/{label}"
            if label in {seen for seen, _, _ in found}:
                raise DataError(f"{path}: its space {name!r} is named as one given before; give the files distinct names")
            found.append((label, words, vectors))
    worded = [words is not None for _, words, _ in found]
    if any(worded) and not all(worded):
        bare = next(name for name, words, _ in found if words is None)
        raise DataError(f"{bare} has no words to match the other spaces' by; give every FILE its words, or none")
    if all(worded):  # (the words every space has, in the first space's order)
        shared = set(found[0][1]).intersection(*(set(words) for _, words, _ in found[1:]))
        order = [word for word in dict.fromkeys(found[0][1]) if word in shared]
        if len(order) < 3:
            raise DataError(f"the spaces share {len(order)} word{'s' * (len(order) != 1)}; RSA needs at least 3")
        spaces = {}
        for name, words, vectors in found:
            position = {word: k for k, word in reversed(list(enumerate(words)))}
            spaces[name] = np.asarray(vectors)[[position[word] for word in order]]
        n_items = len(order)
    else:
        spaces = {name: vectors for name, _, vectors in found}
        n_items = int(np.asarray(found[0][2]).shape[0])
    what = f"--method {args.method} over {n_items:,} items of {len(spaces)} spaces"
    with _memory_for(what, "use fewer items with --limit K, or fewer spaces"):
        result = sweeps.rsa_matrix(spaces, method=args.method, metric=args.metric)
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps({
            "names": list(result.row_names), "matrix": result.matrix.tolist(), "method": args.method,
            "metric": args.metric, "n_items": n_items, "seconds": seconds,
        }))
    elif args.csv:
        print(",".join(["", *(_csv_field(name) for name in result.column_names)]))
        for name, row in zip(result.row_names, result.matrix):
            print(",".join([_csv_field(name), *(repr(float(value)) for value in row)]))
    else:
        method = "linear CKA" if args.method == "cka" else f"{args.method} RSA ({args.metric})"
        print(f"{method} of {len(spaces)} spaces over {n_items:,} items   seconds: {seconds:.3f}")
        print(result)
    if args.plot:
        try:
            from .plot import plot_matrix

            figure = plot_matrix(result)
        except ImportError as error:
            raise DataError(str(error)) from None
        try:
            figure.savefig(args.plot, dpi=110)
        except OSError as error:
            raise DataError(f"{args.plot}: cannot write the plot ({error.strerror or error})") from None


def _csv_field(text):
    text = str(text)
    return '"' + text.replace('"', '""') + '"' if any(mark in text for mark in ',"\n') else text


def _timed(function, *args, **kwargs):
    """``(value, seconds)`` of a call's second run: the first compiles its
    kernels, or loads them from Numba's cache, so the time is the call's own."""
    function(*args, **kwargs)
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
    folded = ", ".join(f"{word} -> {kept}" for word, kept in lower.folded)
    print(f"   case='lower': {len(lower.words)} distinct words ({folded}, then kept once): {' '.join(lower.words)}")
    for method in api._validate.METHODS:
        print(f"   {method:8s} r = {api.rsa(lower.x, lower.y, method=method):.4f}")

    n = len(static)
    print(f"\n2. All {n:,} words ({n * (n - 1) // 2:,} pairs), static vs contextual")
    print("   (the times of each call's second run: the first compiles or loads its kernels)")
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


def _warm_up(args):
    uncached, total = _warm.cold()
    print(f"compiling fastrsa's kernels ({total - uncached} of {total} cached now) into Numba's cache ...")
    start = time.perf_counter()
    count = []
    uncached, total = _warm.warm_up(count.append)
    print(f"{len(count)} kinds of call run, {total - uncached} of {total} kernels cached, in {time.perf_counter() - start:.0f} s")
    print("later runs, and processes started from this install (a cluster's workers), load them instead of compiling")


def _say_compiling(command):
    """One line on stderr where the kernels are not yet cached (the first run of an install)."""
    if command != "warm-up" and _warm.is_cold():
        print(
            "fastrsa: compiling its kernels on first use (a minute or two, once: Numba caches them; "
            "'fastrsa warm-up' compiles them all ahead)",
            file=sys.stderr, flush=True,
        )  # fmt: skip


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning in one line of stderr, in the command's terms."""
    text = _as_options(str(message)).replace("pass progress=True", "add --progress").replace("(n_boot)", "(--bootstrap)")
    print(f"fastrsa: {category.__name__}: {' '.join(text.split())}", file=sys.stderr)


def main(argv=None):
    try:
        args = _parser().parse_args(argv)
        _check_options(args)
        run = {"compare": _compare, "split-half": _split_half, "matrix": _matrix, "demo": _demo, "warm-up": _warm_up}[args.command]
        _say_compiling(args.command)
        run(args)
    except KeyboardInterrupt:
        print("fastrsa: interrupted", file=sys.stderr)
        return 130
    except (DataError, ValueError, OSError, MemoryError) as error:
        print(f"fastrsa: error: {_message(error)}", file=sys.stderr)
        return 1
    return 0


def console():
    """The ``fastrsa`` command: ``main`` with warnings written in one line of
    stderr, in the command's terms.  (``main`` leaves the process's warning
    settings alone, so a host application may call it from any thread.)"""
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        code = main()
    sys.exit(code)


def _message(error):
    """One line for an error main reports."""
    if isinstance(error, OSError) and error.filename is not None:
        message = f"{error.filename}: {error.strerror or error}"
    elif isinstance(error, MemoryError) and not str(error):
        message = "not enough memory"
    else:
        message = str(error)
    return " ".join(_as_options(message).split())
