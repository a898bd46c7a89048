"""fastrsa: fast representational similarity analysis.

``rsa(X, Y)`` correlates the pairwise cosine similarities of two spaces over
the same items; ``rsm``, ``rdm``, ``compare`` and ``normalize_rows`` are its
steps, ``split_half`` measures one space's redundancy; ``permutation_test``,
``mantel`` and ``bootstrap_ci`` give p-values and intervals; ``plan(function,
...)`` says what a call will do and need, without running it.  For word embeddings:
``load_embeddings``, ``align`` and ``rsa_words``; pictures in
``fastrsa.plot``.  ``fastrsa.reference`` holds the core in plain NumPy;
``fastrsa.jit`` the kernels, to call from your own ``numba.njit`` code.
"""

from ._binned import ApproximateScore
from ._cka import cka
from ._knn import mutual_knn
from ._memory import InsufficientMemoryError
from ._missing import OmittedWarning
from ._progress import LongCallWarning
from ._plan import Plan, Stage, plan
from .api import compare, normalize_rows, rdm, rsa, rsm, split_half
from .embeddings import Alignment, EmbeddingFileError, Embeddings, WordsResult, align, load_embeddings, rsa_words, sample_embeddings
from ._results import MatrixPermutationResult, MatrixResult
from .sweeps import matrix_permutation_test, rsa_matrix
from .stats import BootstrapResult, PermutationResult, bootstrap_ci, mantel, permutation_test

__all__ = [
    "Alignment",
    "ApproximateScore",
    "BootstrapResult",
    "EmbeddingFileError",
    "Embeddings",
    "InsufficientMemoryError",
    "WordsResult",
    "align",
    "bootstrap_ci",
    "cka",
    "compare",
    "load_embeddings",
    "mantel",
    "matrix_permutation_test",
    "mutual_knn",
    "MatrixPermutationResult",
    "MatrixResult",
    "normalize_rows",
    "OmittedWarning",
    "LongCallWarning",
    "permutation_test",
    "PermutationResult",
    "Plan",
    "plan",
    "rdm",
    "rsa",
    "rsa_matrix",
    "rsa_words",
    "rsm",
    "sample_embeddings",
    "split_half",
    "Stage",
]
__version__ = "0.1.0"
