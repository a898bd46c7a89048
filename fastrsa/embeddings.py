"""Word embeddings: the container, the file loaders and vocabulary alignment."""

import bz2
import gzip
import lzma
import os
import re
import string
import struct
import sys
import warnings
import zipfile
import zlib
from typing import NamedTuple

import numpy as np

from . import _memory

FORMATS = ("glove", "word2vec", "word2vec-binary", "npz")
CASES = ("exact", "lower")
PROGRESS_MIN_BYTES = 100 * 2**20
SAMPLE_PATH = os.path.join(os.path.dirname(__file__), "data", "minilm-words-3k.npz")
SAMPLE_SPACES = ("static", "contextual")
_PUNCTUATION = string.punctuation + "“”‘’«»…–—"
_BOM = b"\xef\xbb\xbf"  # a UTF-8 byte order mark, which some editors write first
# Compressed files, known by their first bytes (GloVe and fastText ship as .gz, .zip, .bz2, .xz): how to open each.
_COMPRESSIONS = {
    b"\x1f\x8b": ("gzip", lambda raw: gzip.GzipFile(fileobj=raw, mode="rb")),
    b"BZh": ("bzip2", bz2.BZ2File),
    b"\xfd7zXZ\x00": ("xz", lzma.LZMAFile),
}
# Fields of a text line: runs of spaces or tabs (a word may hold single spaces).
_FIELD_SEPARATOR = re.compile(r"[ \t]+")


class EmbeddingFileError(ValueError):
    """A file that cannot be read as embeddings; the message names the file (and line)."""


class Embeddings:
    """Words and their vectors: row i of ``vectors`` belongs to ``words[i]``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastrsa import Embeddings
    >>> emb = Embeddings(["fox", "dog"], np.array([[1.0, 0.0], [0.6, 0.8]]))
    >>> len(emb), emb.dim, "fox" in emb, emb.index("dog")
    (2, 2, True, 1)
    >>> emb["dog"]
    array([0.6, 0.8])
    """

    def __init__(self, words, vectors):
        words = [str(word) for word in words]
        vectors = vectors if isinstance(vectors, np.memmap) else np.asarray(vectors)  # (a memmap stays on disk)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise ValueError(
                f"vectors must be 2-D with one row per word: {len(words)} words but vectors.shape == {vectors.shape}"
            )
        self._index = {}
        for row, word in enumerate(words):
            if self._index.setdefault(word, row) != row:
                raise ValueError(f"words must be unique; {word!r} is at rows {self._index[word]} and {row}")
        self.words = words
        self.vectors = vectors

    def __len__(self):
        return len(self.words)

    @property
    def dim(self):
        return self.vectors.shape[1]

    def __contains__(self, word):
        return word in self._index

    def __getitem__(self, word):
        return self.vectors[self.index(word)]

    def index(self, word):
        """The row of ``word``; KeyError if it is not in the vocabulary."""
        try:
            return self._index[word]
        except KeyError:
            raise KeyError(f"{word!r} is not in the vocabulary") from None

    def subset(self, words):
        """A new Embeddings with these words, in this order (all must be present)."""
        words = list(words)
        return Embeddings(words, self.vectors[[self.index(word) for word in words]])

    def __repr__(self):
        return f"Embeddings({len(self)} words, dim={self.dim}, dtype={self.vectors.dtype})"


# ---------------------------------------------------------------------------
# Loading


def load_embeddings(path, format=None, limit=None, dtype=None, key=None, progress=None, mmap=False):
    """Read word vectors from a GloVe, word2vec (text or binary) or .npz file.

    Parameters
    ----------
    path : str or os.PathLike
    format : {None, "glove", "word2vec", "word2vec-binary", "npz"}
        None detects the format from the file's first bytes: a zip archive is
        .npz; a first line ``count dim`` is word2vec, binary if the vectors
        after it are not text; anything else is GloVe (``word v1 v2 ...``).
    limit : int, optional
        Keep only the first ``limit`` words of the file.
    dtype : None, float32 or float64
        None: float32, or with ``mmap=True`` the dtype stored in the file.
    key : str, optional
        For .npz files holding several spaces beside ``words``: which array.
        Defaults to ``vectors``, or the only 2-D array there is.  One layer
        of a 3-D array (layers x words x features, a model's stacked hidden
        states) is ``"hidden[3]"`` or ``"hidden:3"`` (negative counts from
        the last).
    progress : bool, optional
        Draw a progress bar on stderr.  By default only for files over 100 MB
        read with stderr on a terminal.
    mmap : bool
        For .npz files: memory-map the vectors instead of reading them
        (the words are read).  ``vectors`` is then a read-only
        ``numpy.memmap`` of the file, which fastrsa's functions read a block
        of rows at a time (docs/index.md, "Inputs on disk").  NumPy cannot
        map a member of a zip archive; fastrsa maps an uncompressed member
        (``numpy.savez``) at its offset in the file, and refuses a
        compressed one (``numpy.savez_compressed``): re-save it with
        ``numpy.savez``, or load it with ``mmap=False``.  A ``dtype`` other
        than the stored one, and repeated words (whose rows could not be
        dropped without a copy), are refused.  Text and word2vec files are
        parsed, never mapped: ``mmap=True`` refuses them.

    Returns
    -------
    Embeddings
        A gzip, bzip2 or xz compressed text or word2vec file (``.gz``,
        ``.bz2``, ``.xz``, known by its first bytes) is decompressed as it
        is read, twice for text: once to count its lines.
        Text is read as UTF-8, line by line, into one preallocated array:
        memory is about that of the vectors themselves.  A word seen again is
        dropped (the first is kept) with a warning saying how many were.

    Examples
    --------
    >>> import os, tempfile, numpy as np, fastrsa
    >>> path = os.path.join(tempfile.mkdtemp(), "emb.npz")
    >>> np.savez(path, words=np.array(["fox", "dog", "cat"]), vectors=np.eye(3, dtype=np.float32))
    >>> emb = fastrsa.load_embeddings(path, mmap=True)
    >>> type(emb.vectors).__name__, emb.vectors.dtype, emb.vectors.flags.writeable
    ('memmap', dtype('float32'), False)

    Raises
    ------
    EmbeddingFileError
        (a ValueError) naming the file and line: empty file, ragged row, bad
        number, wrong dimension, undecodable text.
    FileNotFoundError
        If there is no such file.
    """
    path = os.fspath(path)
    if format is not None and format not in FORMATS:
        raise ValueError(f"format={format!r} is not supported; use one of {', '.join(map(repr, FORMATS))} or None")
    if key is not None and not isinstance(key, str):
        raise ValueError(f"key={key!r}: expected the name of an array in the .npz (a str), or None")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1):
        raise ValueError(f"limit={limit!r}: expected a positive integer or None")
    if dtype is not None and np.dtype(dtype) not in (np.float32, np.float64):
        raise ValueError(f"dtype={dtype!r}: expected None, float32 or float64")
    if not isinstance(mmap, bool):
        raise ValueError(f"mmap={mmap!r}: expected True or False")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    if os.path.getsize(path) == 0:
        raise EmbeddingFileError(f"{path}: the file is empty")
    format = format or detect_format(path)
    if format == "npz" and _compression(path):
        raise EmbeddingFileError(f"{path}: an .npz inside {_compression(path)} compression; decompress it first")
    if mmap and format != "npz":
        raise ValueError(
            f"mmap=True memory-maps the vectors of an .npz file; {path} is {format}, which is parsed into memory "
            f"(load it with mmap=False, and np.savez(words=..., vectors=...) it once to map it next time)"
        )
    if format == "npz":
        words, vectors = _read_npz(path, key, mmap)
        if limit is not None:
            words, vectors = words[:limit], vectors[:limit]
        if not mmap:
            # A fresh array of ours is kept as it is; a view (of --limit's rows, of one
            # layer of a 3-D array) is copied, so that the rest of the array is freed.
            vectors = vectors.astype(np.float32 if dtype is None else dtype, copy=vectors.base is not None)
        elif dtype is not None and np.dtype(dtype) != vectors.dtype:
            raise ValueError(
                f"dtype={np.dtype(dtype).name}: with mmap=True the vectors keep the dtype stored in {path} "
                f"({vectors.dtype}); pass dtype=None, or mmap=False to convert them in memory"
            )
    else:
        dtype = np.float32 if dtype is None else dtype
        show = progress if progress is not None else sys.stderr.isatty()
        bar = _ProgressBar(path) if show and os.path.getsize(path) >= PROGRESS_MIN_BYTES or progress else None
        reader = _read_word2vec_binary if format == "word2vec-binary" else _read_text
        try:
            words, vectors = reader(path, format, limit, np.dtype(dtype), bar)
        except (EOFError, lzma.LZMAError, zlib.error, gzip.BadGzipFile, OSError) as error:
            if bar:
                bar.end_line()
            if not _compression(path) or isinstance(error, FileNotFoundError):
                raise
            raise EmbeddingFileError(f"{path}: cannot decompress it ({_compression(path)}: {error})") from None
        except BaseException:  # (Ctrl-C too) what follows starts on a line of its own
            if bar:
                bar.end_line()
            raise
        if bar:
            bar.close()
    return _drop_duplicates(path, words, vectors)


def detect_format(path):
    """Guess a file's format from its first bytes (see ``load_embeddings``),
    those of its decompressed text where it is gzip, bzip2 or xz compressed."""
    with _opened(path) as (file, _):
        try:
            head = file.read(1 << 16).removeprefix(_BOM)
        except (OSError, EOFError, lzma.LZMAError, zlib.error) as error:
            raise EmbeddingFileError(f"{path}: cannot decompress it ({_compression(path)}: {error})") from None
    if head.startswith(b"PK\x03\x04"):
        return "npz"
    first_line, _, rest = head.partition(b"\n")
    fields = first_line.split()
    if len(fields) == 2 and all(field.isdigit() for field in fields):
        dim = int(fields[1])
        record = rest.partition(b" ")[2][: 4 * dim]
        return "word2vec" if re.fullmatch(rb"[-+0-9.eEnaNinfINF \t\r\n]*", record) else "word2vec-binary"
    return "glove"


def _read_npz(path, key, mmap=False):
    try:
        return _read_npz_archive(path, key, mmap)
    except EmbeddingFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise EmbeddingFileError(f"{path}: not a readable .npz (zip) archive ({error})") from None
    except ValueError as error:  # NumPy's, on a member it cannot read (pickled objects, a bad header)
        raise EmbeddingFileError(f"{path}: an array in the .npz cannot be read ({error})") from None


# A key naming one layer of a 3-D array (layers x words x features): "hidden[3]" or "hidden:3".
_LAYER_KEY = re.compile(r"(?P<name>.+?)(?:\[(?P<bracket>-?\d+)\]|:(?P<colon>-?\d+))")


def _read_npz_archive(path, key, mmap=False):
    with np.load(path, allow_pickle=False) as archive:
        names = archive.files
        if "words" not in names:
            raise EmbeddingFileError(f"{path}: an .npz of embeddings needs a 'words' array; it has {names}")
        # Only the members' headers are read to choose one; then that member alone.
        shapes = {name: _member_header(path, name)[0] for name in names if name != "words"}
        spaces = [name for name in shapes if len(shapes[name]) == 2]
        stacks = [name for name in shapes if len(shapes[name]) == 3]
        layer = _LAYER_KEY.fullmatch(key) if key is not None and key not in shapes else None
        layers = "".join(
            f"; {name!r} holds {shapes[name][0]} layers: choose one with key= as '{name}[0]' to '{name}[{shapes[name][0] - 1}]'"
            for name in stacks
        )
        if key is None:
            if "vectors" in spaces or len(spaces) == 1:
                key = "vectors" if "vectors" in spaces else spaces[0]
            elif spaces:
                raise EmbeddingFileError(f"{path}: holds several spaces {spaces}; choose one with key={layers}")
            else:
                raise EmbeddingFileError(f"{path}: holds no 2-D array of vectors{layers or f'; it has {names}'}")
        elif layer is not None and layer["name"] in stacks:
            key, index = layer["name"], int(layer["bracket"] or layer["colon"])
            count = shapes[key][0]
            if not -count <= index < count:
                raise EmbeddingFileError(f"{path}: {key!r} holds {count} layers (0 to {count - 1}); there is no layer {index}")
        elif layer is not None and layer["name"] in spaces:
            raise EmbeddingFileError(f"{path}: {layer['name']!r} is one 2-D space, not layers; choose it with key='{layer['name']}'")
        elif key not in spaces:
            raise EmbeddingFileError(f"{path}: no 2-D array {key!r}; " + (f"the spaces here are {spaces}{layers}" if spaces else layers[2:] or f"it has {names}"))
        words = archive["words"]
        vectors = _mapped_member(path, key, _member_header(path, key)) if mmap else archive[key]
        if layer is not None:
            vectors = vectors[index]  # (of a memmap, a memmap of that layer's rows)
    if vectors.shape[0] != len(words):
        raise EmbeddingFileError(f"{path}: {len(words)} words but {key!r} has {vectors.shape[0]} rows")
    if vectors.dtype.kind not in "iuf":
        raise EmbeddingFileError(f"{path}: {key!r} has dtype {vectors.dtype}; expected numbers")
    return [str(word) for word in words], vectors


def _member_header(path, name):
    """``(shape, fortran_order, dtype, data_offset, compressed)`` of the
    array ``name`` of an .npz, from its .npy header alone: for a stored
    member, at its data's offset in the file (after the zip entry's local
    header, whose extra field may differ from the central directory's); for
    a compressed one, decompressed from its start (offset None)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name + ".npy")
        if info.compress_type != zipfile.ZIP_STORED:
            with archive.open(info) as member:
                return (*_npy_header(path, name, member), None, True)
    with open(path, "rb") as file:
        file.seek(info.header_offset)
        local = file.read(30)
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            raise EmbeddingFileError(f"{path}: the zip entry of {name!r} has no local header where its directory says")
        name_length, extra_length = struct.unpack("<HH", local[26:30])
        file.seek(info.header_offset + 30 + name_length + extra_length)
        return (*_npy_header(path, name, file), file.tell(), False)


def _npy_header(path, name, file):
    """``(shape, fortran_order, dtype)`` of the .npy that starts at ``file``'s position."""
    version = np.lib.format.read_magic(file)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(file)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(file)
    raise EmbeddingFileError(f"{path}: {name!r} is a .npy of format version {version}, which cannot be mapped")


def _mapped_member(path, name, header):
    """The read-only memmap of the uncompressed array ``name`` of an .npz."""
    shape, fortran, dtype, offset, compressed = header
    if compressed:
        raise EmbeddingFileError(
            f"{path}: {name!r} is compressed (numpy.savez_compressed), and NumPy cannot map a compressed member; "
            f"save it with numpy.savez to memory-map it, or load it with mmap=False"
        )
    if dtype.hasobject or dtype.kind not in "iuf":
        raise EmbeddingFileError(f"{path}: {name!r} has dtype {dtype}; expected numbers")
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")


def _compression(path):
    """The name of the compression ``path`` is in ("gzip", "bzip2", "xz"), or None."""
    with open(path, "rb") as file:
        head = file.read(6)
    return next((name for magic, (name, _) in _COMPRESSIONS.items() if head.startswith(magic)), None)


class _opened:
    """``with _opened(path) as (file, read):`` the file's bytes, decompressed
    where it is compressed, and ``read()``: how many bytes of the file on
    disk have been read so far (for a progress bar over its size)."""

    def __init__(self, path):
        self.raw = open(path, "rb")
        head = self.raw.read(6)
        self.raw.seek(0)
        opener = next((opener for magic, (_, opener) in _COMPRESSIONS.items() if head.startswith(magic)), None)
        self.file = opener(self.raw) if opener else self.raw

    def __enter__(self):
        return self.file, self.raw.tell

    def __exit__(self, *exc):
        self.file.close()
        self.raw.close()


def _count_lines(path):
    count = 0
    last = b"\n"
    with _opened(path) as (file, _):
        while block := file.read(1 << 24):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def _read_text(path, format, limit, dtype, bar):
    """GloVe or word2vec text: one ``word v1 ... vD`` per line.  A word may hold
    spaces (GloVe 840B has some): the last D fields are the numbers, with D
    from the header or the first line; a line with more numbers than D is an
    error, not a word."""
    rows = _count_lines(path)  # (a compressed file is decompressed twice: to count its lines, then to read them)
    with _opened(path) as (file, read):
        number = 0
        dim = None
        if format == "word2vec":
            number, header = 1, file.readline().removeprefix(_BOM)
            fields = header.split()
            if len(fields) != 2 or not all(field.isdigit() for field in fields):
                raise EmbeddingFileError(f"{path}:1: expected a header 'count dim', got {_show(header)}")
            rows, dim = min(rows - 1, int(fields[0])), int(fields[1])
            dim_source = "the header"
        if limit is not None:
            rows = min(rows, limit)
        words = []
        vectors = None
        for line in file:
            number += 1
            if len(words) == rows:
                break
            if bar:
                bar.update(read())
            if number == 1:
                line = line.removeprefix(_BOM)
            try:
                text = line.decode("utf-8").rstrip()
            except UnicodeDecodeError as error:
                raise EmbeddingFileError(f"{path}:{number}: not UTF-8 text ({error.reason})") from None
            if not text.strip():
                continue
            fields = _fields(text)
            if dim is None:
                dim = _trailing_numbers(fields)
                if dim < 1:
                    raise EmbeddingFileError(f"{path}:{number}: a word with no numbers after it")
                dim_source = f"line {number}"
            if len(fields) <= dim or not fields[0]:
                raise EmbeddingFileError(
                    f"{path}:{number}: ragged row: expected a word and {dim} numbers, got {len(fields) - 1} fields after the first"
                )
            if vectors is None:  # (after the check above, dim is at most this line's length)
                vectors = np.empty((rows, dim), dtype)
            if len(fields) > dim + 1 and all(_is_number(field) for field in fields[1:-dim]):
                raise EmbeddingFileError(
                    f"{path}:{number}: wrong dimension: {len(fields) - 1} numbers where {dim_source} has {dim}"
                )
            try:
                vectors[len(words)] = np.array(fields[-dim:], dtype=np.float64)
            except ValueError:
                bad = next(field for field in fields[-dim:] if not _is_number(field))
                raise EmbeddingFileError(f"{path}:{number}: bad number {bad!r}") from None
            words.append(" ".join(fields[:-dim]))
    if not words:
        raise EmbeddingFileError(f"{path}: no word vectors found")
    return words, vectors[: len(words)]


def _read_word2vec_binary(path, format, limit, dtype, bar):
    """word2vec binary: a ``count dim`` text header, then per word its UTF-8
    bytes, a space, and dim little-endian float32 numbers (a newline may follow)."""
    with _opened(path) as (file, read):
        line = file.readline()
        header = line.removeprefix(_BOM)
        fields = header.split()
        if len(fields) != 2 or not all(field.isdigit() for field in fields):
            raise EmbeddingFileError(f"{path}:1: expected a header 'count dim', got {_show(header)}")
        count, dim = int(fields[0]), int(fields[1])
        if limit is not None:
            count = min(count, limit)
        if _compression(path):
            # (How far it decompresses is not known before it is read: the header's
            # promise is held to the memory its vectors need; a file that ends early says so.)
            if dim < 1:
                _check_binary_header(path, count, dim, 0)
            _memory.require(count * dim * np.dtype(dtype).itemsize, f"the {count:,} vectors the header of {path} promises", "read fewer words with limit=")
        else:
            _check_binary_header(path, count, dim, os.path.getsize(path) - len(line))
        vectors = np.empty((count, dim), dtype)
        words = []
        record_bytes = 4 * dim
        buffer = b""
        for row in range(count):
            while True:
                space = buffer.find(b" ")
                if space >= 0 and len(buffer) >= space + 1 + record_bytes:
                    break
                more = file.read(1 << 20)
                if not more:
                    raise EmbeddingFileError(
                        f"{path}: word {row + 1}: the file ends early (header promises {count} words of {dim} numbers)"
                    )
                buffer += more
            try:
                words.append(buffer[:space].lstrip(b"\n").decode("utf-8"))
            except UnicodeDecodeError as error:
                raise EmbeddingFileError(f"{path}: word {row + 1}: not UTF-8 ({error.reason})") from None
            vectors[row] = np.frombuffer(buffer, "<f4", dim, space + 1)
            buffer = buffer[space + 1 + record_bytes :]
            if bar and row % 1024 == 0:
                bar.update(read())
    if not np.isfinite(vectors).all():
        raise EmbeddingFileError(f"{path}: word {int(np.argwhere(~np.isfinite(vectors))[0, 0]) + 1}: NaN or inf")
    return words, vectors


def _check_binary_header(path, count, dim, body_bytes):
    """Refuse a header whose ``count`` words of ``dim`` numbers cannot be in
    the ``body_bytes`` after it, before anything that size is allocated."""
    if dim < 1:
        raise EmbeddingFileError(f"{path}:1: the header gives {dim} numbers per word; expected at least 1")
    least = count * (4 * dim + 2)  # each word: at least one byte, a space, dim float32
    if least > body_bytes:
        raise EmbeddingFileError(
            f"{path}:1: the header promises {count:,} words of {dim:,} numbers, at least {least:,} bytes, but "
            f"the file holds {body_bytes:,} bytes after it (a wrong header, or a truncated file)"
        )


def _fields(text):
    """The fields of a text line (right-stripped): split on single spaces
    as most files are written, or on runs of spaces and tabs where the line
    has them (the inner spaces of a word then become single spaces).  A
    line that starts with a space or tab has an empty first field: no word."""
    if "\t" in text or "  " in text:
        return _FIELD_SEPARATOR.split(text)
    return text.split(" ")


def _trailing_numbers(fields):
    """How many of the fields after the first (the word) are numbers, counted from the end."""
    count = 0
    while count < len(fields) - 1 and _is_number(fields[-1 - count]):
        count += 1
    return count


def _is_number(field):
    try:
        float(field)
    except ValueError:
        return False
    return True


def _show(raw):
    return repr(raw[:60].decode("utf-8", "replace").rstrip())


def _drop_duplicates(path, words, vectors):
    first = {}
    for row, word in enumerate(words):
        first.setdefault(word, row)
    dropped = len(words) - len(first)
    if dropped and isinstance(vectors, np.memmap):
        raise EmbeddingFileError(
            f"{path}: {dropped} repeated words, whose rows cannot be dropped from memory-mapped vectors without "
            f"a copy; load with mmap=False (the first of each is kept), or save the file without them"
        )
    if dropped:
        warnings.warn(f"{path}: {dropped} repeated words dropped (the first of each was kept)", stacklevel=3)
        rows = sorted(first.values())
        words, vectors = [words[row] for row in rows], vectors[rows]
    embeddings = Embeddings(words, vectors)
    embeddings.dropped_duplicates = dropped
    return embeddings


class _ProgressBar:
    def __init__(self, path):
        self.label = os.path.basename(path)
        self.total = max(os.path.getsize(path), 1)
        self.shown = -1

    def update(self, done):
        percent = min(100, 100 * done // self.total)
        if percent != self.shown:
            self.shown = percent
            filled = percent * 30 // 100
            sys.stderr.write(f"\rloading {self.label} [{'#' * filled}{'.' * (30 - filled)}] {percent:3d}%")
            sys.stderr.flush()

    def close(self):
        self.update(self.total)
        self.end_line()

    def end_line(self):
        sys.stderr.write("\n")
        sys.stderr.flush()


def sample_embeddings(space="static"):
    """The bundled sample: 3,002 English words in one of two real 384-d spaces.

    ``space`` is ``"static"`` (all-MiniLM-L6-v2's input token embeddings) or
    ``"contextual"`` (its mean-pooled output for each word alone); float32.
    Provenance and licence: ``fastrsa/data/README.md``.

    >>> from fastrsa import sample_embeddings
    >>> sample_embeddings("contextual")
    Embeddings(3002 words, dim=384, dtype=float32)
    """
    if space not in SAMPLE_SPACES:
        raise ValueError(f"space={space!r} is not supported; use one of {', '.join(map(repr, SAMPLE_SPACES))}")
    return load_embeddings(SAMPLE_PATH, format="npz", key=space)


# ---------------------------------------------------------------------------
# Alignment


class Alignment(NamedTuple):
    """Two spaces row-aligned over shared words: ``x``, ``y``, the ``words``
    used, the words each side lacks; ``folded``, the (word, lower-cased)
    pairs of the words ``case="lower"`` changed; ``merged``, the (word, kept)
    pairs of the words left out as the same as one kept before them (asked
    twice, or equal once folded)."""

    x: np.ndarray
    y: np.ndarray
    words: list
    missing_a: list
    missing_b: list
    folded: tuple = ()
    merged: tuple = ()

    def __repr__(self):
        from ._results import array_summary, counted, words

        changed = "".join(f"; {len(p):,} {name}" for name, p in (("folded", self.folded), ("merged", self.merged)) if p)
        return (
            f"Alignment({words(self.words)}; missing in a: {counted(self.missing_a)}; "
            f"missing in b: {counted(self.missing_b)}{changed}; x {array_summary(self.x)}, y {array_summary(self.y)})"
        )


def split_words(text):
    """Words of a sentence: split on white space, punctuation stripped from
    both ends of each word.

    >>> split_words("The quick brown fox, jumps over the lazy dog.")
    ['The', 'quick', 'brown', 'fox', 'jumps', 'over', 'the', 'lazy', 'dog']
    """
    stripped = (word.strip(_PUNCTUATION) for word in text.split())
    return [word for word in stripped if word]


def _lookup(embeddings, case):
    """word -> row, lower-cased (first occurrence wins) for case='lower'."""
    if case == "exact":
        return embeddings._index
    table = {}
    for row, word in enumerate(embeddings.words):
        table.setdefault(word.lower(), row)
    return table


def align(a, b, words=None, case="exact"):
    """Row-align two Embeddings over shared words.

    Parameters
    ----------
    a, b : Embeddings
    words : None, str or sequence of str
        None intersects the vocabularies, in ``a``'s order.  Otherwise these
        words in this order (a string is split on white space and stripped of
        punctuation); each is looked up in both.  A word asked for twice is
        kept once.  Anything else (bytes, a number, a list holding a
        non-string) is refused with a ValueError.
    case : {"exact", "lower"}
        "lower" looks words up lower-cased on both sides, so "The" finds "the";
        words that coincide once lowered are kept once (the first).

    Returns
    -------
    Alignment
        ``x``, ``y``: the vectors of ``words`` in ``a`` and ``b``;
        ``missing_a`` / ``missing_b``: the words asked for (or, with
        words=None, the other side's words) that ``a`` / ``b`` lack;
        ``folded``: (word, lower-cased) for each word (with words=None,
        each of ``a``'s) that ``case="lower"`` changed; ``merged``: (word,
        kept) for each word left out as the same as an earlier one.

    Examples
    --------
    >>> import numpy as np
    >>> from fastrsa import Embeddings, align
    >>> a = Embeddings(["the", "fox", "dog"], np.eye(3))
    >>> b = Embeddings(["the", "dog", "cat"], np.eye(3))
    >>> align(a, b, "The fox and the dog").missing_a
    ['The', 'and']
    >>> lower = align(a, b, "The fox and the dog", case="lower")
    >>> lower.words, lower.folded, lower.merged
    (['the', 'dog'], (('The', 'the'),), (('the', 'the'),))
    """
    if case not in CASES:
        raise ValueError(f"case={case!r} is not supported; use one of {', '.join(map(repr, CASES))}")
    for name, side in (("a", a), ("b", b)):
        if not isinstance(side, Embeddings):
            raise ValueError(f"{name} must be an Embeddings (see fastrsa.load_embeddings); got {type(side).__name__}")
    rows_a, rows_b = _lookup(a, case), _lookup(b, case)
    fold = str.lower if case == "lower" else str
    if words is None:
        asked_a, folded, merged = _folded(a.words, fold)
        asked_b = list(dict.fromkeys(fold(word) for word in b.words))
        shared = [word for word in asked_a if word in rows_b]
        missing_a = [word for word in asked_b if word not in rows_a]
        missing_b = [word for word in asked_a if word not in rows_b]
    else:
        asked, folded, merged = _folded(_asked_words(words), fold)
        shared = [word for word in asked if word in rows_a and word in rows_b]
        missing_a = [word for word in asked if word not in rows_a]
        missing_b = [word for word in asked if word not in rows_b]
    x = a.vectors[[rows_a[word] for word in shared]]
    y = b.vectors[[rows_b[word] for word in shared]]
    return Alignment(x, y, shared, missing_a, missing_b, folded, merged)


def _folded(words, fold):
    """``(kept, folded, merged)`` of ``words`` under ``fold``: the distinct
    folded words in order; the (word, folded word) pairs ``fold`` changed,
    once each; the (word, kept word) pairs of the words left out as the same
    as one before them once folded."""
    kept, folded, merged = {}, {}, []
    for word in words:
        key = fold(word)
        if key != word:
            folded.setdefault(word, key)
        if key in kept:
            merged.append((word, key))
        else:
            kept[key] = None
    return list(kept), tuple(folded.items()), tuple(merged)


def _asked_words(words):
    """``align``'s ``words`` (a string or a sequence of strings) as a list of str."""
    if isinstance(words, str):
        return split_words(words)
    if isinstance(words, (bytes, bytearray)):
        raise ValueError("words is bytes; pass text (words.decode('utf-8')) or a sequence of str")
    try:
        words = list(words)
    except TypeError:
        raise ValueError(
            f"words={words!r} is not allowed; use None, a string of words, or a sequence of str"
        ) from None
    for word in words:
        if not isinstance(word, str):
            raise ValueError(f"words holds {word!r} ({type(word).__name__}); every word must be a str")
    return words


class WordsResult(NamedTuple):
    """The RSA score of two spaces over shared words, and which words those were."""

    score: float
    words: list
    missing_a: list
    missing_b: list
    method: str
    metric: str

    def __repr__(self):
        from ._results import counted, words

        return (
            f"WordsResult(score={self.score:.6g}, {words(self.words)}; missing in a: {counted(self.missing_a)}; "
            f"missing in b: {counted(self.missing_b)}; method={self.method!r}, metric={self.metric!r})"
        )


def rsa_words(a, b, words=None, case="exact", method="pearson", metric="cosine"):
    """RSA of two embedding spaces over the words they share.

    ``words`` and ``case`` choose the words as in :func:`align`; ``method``
    and ``metric`` are those of :func:`fastrsa.rsa`.

    Returns
    -------
    WordsResult
        ``score``, the aligned ``words``, ``missing_a`` and ``missing_b``.
    """
    from .api import rsa

    aligned = align(a, b, words, case)
    if len(aligned.words) < 3:
        raise ValueError(
            f"only {len(aligned.words)} of the words are in both spaces ({aligned.words}); RSA needs at least 3 "
            f"(missing in a: {aligned.missing_a}, missing in b: {aligned.missing_b}"
            + (")" if case == "lower" else "; case='lower' may find more)")
        )
    score = rsa(aligned.x, aligned.y, method=method, metric=metric)
    return WordsResult(score, aligned.words, aligned.missing_a, aligned.missing_b, method, metric)
