"""Which images and sentences are worth pairing (RealSyn §3.1 extraction filters).

Images smaller than 100 px on their short side or stretched beyond 1:3 are icons, rules and banners, not
pictures a caption can describe. Sentences are kept when they read like real prose: 3 to 81 words, no URLs
or emoji, and enough word variety (Shannon entropy of the word distribution) to exclude repeated tokens.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

URL = re.compile(r"(?:https?://|ftp://|www\.)\S+", re.IGNORECASE)
# Pictographs, dingbats, flags, skin tones, variation selectors and joiners: what renders as emoji.
EMOJI = re.compile(
    "["
    "\U0001f000-\U0001faff"  # mahjong .. symbols and pictographs extended-A
    "\U00002600-\U000027bf"  # misc symbols, dingbats
    "\U00002b00-\U00002bff"  # arrows and stars used as emoji
    "\U0001f1e6-\U0001f1ff"  # regional indicators (flags)
    "\U0000fe00-\U0000fe0f"  # variation selectors
    "\U0000200d"  # zero-width joiner
    "\U000020e3"  # combining keycap
    "\U000e0020-\U000e007f"  # tag characters (subdivision flags)
    "]+"
)
WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
SPACES = re.compile(r"\s+")
SPACE_BEFORE_PUNCT = re.compile(r"\s+(?=[.,;:!?)\]])")


@dataclass(frozen=True)
class ImageFilter:
    """Size and shape rules for content images; the defaults are the paper's."""

    min_side: int = 100
    max_aspect: float = 3.0

    def reject_reason(self, width: int, height: int) -> str | None:
        """``None`` when the image is kept, else the name of the rule that dropped it (for metadata)."""
        if min(width, height) < self.min_side:
            return "image_too_small"
        ratio = max(width, height) / max(1, min(width, height))
        if ratio > self.max_aspect:
            return "image_aspect_ratio"
        return None


@dataclass(frozen=True)
class SentenceFilter:
    """Length and variety rules for sentences; the defaults are the paper's."""

    min_words: int = 3
    max_words: int = 81
    min_entropy: float = 0.3

    def reject_reason(self, text: str) -> str | None:
        """``None`` when the (already cleaned) sentence is kept, else the rule that dropped it."""
        words = WORD.findall(text)
        if len(words) < self.min_words:
            return "sentence_too_short"
        if len(words) > self.max_words:
            return "sentence_too_long"
        if word_entropy(words) < self.min_entropy:
            return "sentence_low_entropy"
        return None


def clean_sentence(text: str) -> str:
    """Remove URLs and emoji and collapse whitespace: what is left is the text a model should read.

    Removed markup or URLs leave a gap before following punctuation ("the cylinder ."), closed here.
    """
    return SPACE_BEFORE_PUNCT.sub("", SPACES.sub(" ", EMOJI.sub(" ", URL.sub(" ", text)))).strip()


def word_entropy(words: list[str]) -> float:
    """Shannon entropy (nats) of the lower-cased word distribution; 0 for one word repeated."""
    if not words:
        return 0.0
    counts = Counter(w.lower() for w in words)
    total = len(words)
    return -sum(c / total * math.log(c / total) for c in counts.values())
