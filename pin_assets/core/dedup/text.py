"""From a document's text to what duplicate detection compares: normalized words, 5-gram MinHash, exact hash.

Normalization decides what counts as "the same text". Copies of one article differ in ways a reader does
not see: case, punctuation and quote styles, ligatures and accents from a PDF's fonts (``ﬁ`` for ``fi``),
thousands separators and dates re-typed as digits. :func:`normalized_words` therefore applies NFKD
(ligatures and full-width forms become plain letters), case folding, drops combining marks (accents),
turns every run of digits into ``0`` (the rule datatrove's MinHash uses), and treats anything that is
not a letter or digit as a space. Han ideographs and Japanese kana are written without spaces, so each
such character is a word of its own; otherwise a whole Chinese paragraph would be one "word".

MinHash: word 5-grams (shingles) of those words, each document's shingle set hashed by rensa's
``RMinHash`` with 128 permutations (see :data:`SCHEME` and docs/dedup.md for why rensa). A document with
fewer than five words has one shingle, its whole word sequence. A document without words has no
signature and no exact hash: empty pages are not duplicates of each other in any useful sense, and the
``too_few_tokens`` filter already deals with them.

The exact hash is BLAKE2b (64 bits) of the normalized words joined by single spaces: two documents with
the same hash are the same text after normalization. It is verified against the MinHash signatures before
two documents are called exact duplicates, so a 64-bit collision cannot join unrelated texts.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sys
import unicodedata
from dataclasses import asdict, dataclass

import numpy as np
import rensa

_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_NOT_WORD = re.compile(r"[\W_]+")
# Han (CJK unified ideographs and extensions A, compatibility), hiragana and katakana: no spaces between words.
_SPACELESS = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
SNIPPET_CHARS = 160


@dataclass(frozen=True)
class MinHashScheme:
    """Everything that must be equal for two signatures to be comparable; stored with every signature file."""

    num_perm: int = 128
    ngram: int = 5
    seed: int = 42
    algorithm: str = f"rensa.RMinHash/v{rensa.RMinHash.ALGORITHM_VERSION}"
    normalization: str = "nfkd-casefold-nomarks-digits0-nopunct-cjkchars/1"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


SCHEME = MinHashScheme()


@dataclass(frozen=True)
class TextSignature:
    """One document's duplicate-detection facts. ``minhash`` and ``text_hash`` are None without words."""

    words: int
    text_hash: int | None
    minhash: np.ndarray | None  # uint32[num_perm]


@functools.cache
def _mark_table() -> dict[int, None]:
    """``str.translate`` table deleting every combining mark (built once, on first non-ASCII text)."""
    return {cp: None for cp in range(sys.maxunicode + 1) if unicodedata.combining(chr(cp))}


def normalized_words(text: str) -> list[str]:
    """The words duplicate detection compares (module docstring): accents, case, punctuation and digits folded."""
    text = text.casefold()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).translate(_mark_table())
        text = _SPACELESS.sub(r" \1 ", text)
    text = _DIGITS.sub("0", text)
    return _NOT_WORD.sub(" ", text).split()


def shingles(words: list[str], n: int) -> list[str]:
    """Word ``n``-grams joined by spaces; one shingle of all the words when there are fewer than ``n``."""
    if len(words) < n:
        return [" ".join(words)] if words else []
    return [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]


def exact_hash(words: list[str]) -> int:
    """Signed 64-bit BLAKE2b of the normalized text (signed so it fits Arrow int64)."""
    digest = hashlib.blake2b(" ".join(words).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def text_signature(text: str, scheme: MinHashScheme = SCHEME) -> TextSignature:
    """Normalized word count, exact hash and MinHash signature of one document's text."""
    words = normalized_words(text)
    if not words:
        return TextSignature(0, None, None)
    sketch = rensa.RMinHash(num_perm=scheme.num_perm, seed=scheme.seed)
    sketch.update(shingles(words, scheme.ngram))
    return TextSignature(len(words), exact_hash(words), np.asarray(sketch.digest(), dtype=np.uint32))


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The start of the visible text on one line, for cluster examples in the UI."""
    line = " ".join(text[: limit * 4].split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
