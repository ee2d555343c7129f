"""One OCR reading of a page, and how well a reading must read to be trusted."""

from __future__ import annotations

from dataclasses import dataclass

GOOD_READING = 0.75  # readability of a correct reading is ~0.9; wrong-way-up or wrong-language ones < 0.7


@dataclass
class Reading:
    """One OCR of a page: text blocks in the coordinates of the page turned ``angle`` degrees."""

    blocks: list[dict]
    width: float
    height: float
    angle: int
    language: str
    confidence: float
    text: str = ""
