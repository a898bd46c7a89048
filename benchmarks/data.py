"""Benchmark inputs: correlated random spaces of any size, and real ones."""

from pathlib import Path

import numpy as np

D1, D2 = 300, 768  # word2vec-sized and GPT-2-sized features
SHARED_SPACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "minilm-words-5k.npz"


def correlated_spaces(n, d1=D1, d2=D2, dtype=np.float64, seed=0):
    """Two spaces over the same n items: Y shares X's first min(d1, d2) / 2
    directions (plus noise), as two models of one vocabulary do.  Their
    Pearson RSA is about 0.4 whatever n."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d1))
    shared = min(d1, d2) // 2
    Y = rng.standard_normal((n, d2))
    Y[:, :shared] += 2.0 * X[:, :shared]
    # No copy for float64: a copy would double the inputs' memory for a moment,
    # and the peak the report shows would be the generator's, not the call's.
    return X.astype(dtype, copy=False), Y.astype(dtype, copy=False)


def real_spaces():
    """The static and contextual all-MiniLM-L6-v2 spaces over 5,000 words
    (../shared/data), or the package's 3,002-word sample where that is absent.
    Returns (name, X, Y) with float64 arrays."""
    if SHARED_SPACES.exists():
        data = np.load(SHARED_SPACES)
        name = "MiniLM static vs contextual, 5,000 words"
        return name, data["static"].astype(np.float64), data["contextual"].astype(np.float64)
    import fastrsa

    static, contextual = fastrsa.sample_embeddings("static"), fastrsa.sample_embeddings("contextual")
    return (
        f"MiniLM static vs contextual, {len(static.words):,} words (package sample)",
        static.vectors.astype(np.float64),
        contextual.vectors.astype(np.float64),
    )
