"""fastrsa: fast representational similarity analysis.

``rsa(X, Y)`` correlates the pairwise cosine similarities of two spaces over
the same items; ``rsm``, ``rdm``, ``compare`` and ``normalize_rows`` are its
steps.  ``fastrsa.reference`` holds the same functions in plain NumPy.
"""

from .api import compare, normalize_rows, rdm, rsa, rsm

__all__ = ["compare", "normalize_rows", "rdm", "rsa", "rsm"]
__version__ = "0.1.0"
