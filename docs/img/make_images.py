"""Regenerate the pictures in docs/img: ``python docs/img/make_images.py`` from the repository root.

- sentence.png (docs/words.md): plot_rsa of "The quick brown fox jumps over the lazy dog", case lower,
  static vs contextual sample embeddings.
- groups.png (docs/words.md): the same for the words of ``fastrsa demo --plot`` (fastrsa.cli.PLOT_WORDS).
- layers.png (docs/sweeps.md): plot_matrix of rsa_matrix over tests/data/minilm-layers-500.npz.

Each is saved at 100 dpi and stored as a 256-colour PNG (small files; the plots have few colours).
"""

import io
import os

import matplotlib

matplotlib.use("Agg")

from PIL import Image  # noqa: E402  (matplotlib's own dependency)

import fastrsa  # noqa: E402
from fastrsa.cli import PLOT_WORDS, SENTENCE  # noqa: E402
from fastrsa.plot import plot_matrix, plot_rsa  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DPI = 100


def save(figure, name):
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=DPI)
    buffer.seek(0)
    image = Image.open(buffer).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    path = os.path.join(HERE, name)
    image.save(path, optimize=True)
    print(f"{path}: {image.size[0]} x {image.size[1]}, {os.path.getsize(path) / 1024:.0f} KiB")


def main():
    static, contextual = fastrsa.sample_embeddings("static"), fastrsa.sample_embeddings("contextual")
    for name, words, case in (("sentence.png", SENTENCE, "lower"), ("groups.png", PLOT_WORDS, "exact")):
        aligned = fastrsa.align(static, contextual, words, case=case)
        save(plot_rsa(aligned.x, aligned.y, labels=aligned.words, names=("static", "contextual")), name)
    save(plot_matrix(fastrsa.rsa_matrix(os.path.join(ROOT, "tests", "data", "minilm-layers-500.npz"))), "layers.png")


if __name__ == "__main__":
    main()
