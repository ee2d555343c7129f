"""Prompt and answer handling for the optional synthetic text (RealSyn §3.4), independent of any client.

The model sees the image's own caption and the best retrieved real sentence and writes one factual
caption; asking for a single sentence without preamble keeps the output usable as training text.
"""

from __future__ import annotations

import re

SYSTEM_PROMPT = (
    "You write one concise, factual image caption for training an image-text model. Use only facts found "
    "in the given texts. Answer with the caption sentence alone: no preamble, no quotes, no lists."
)
MAX_SYNTHETIC_CHARS = 500
_PREAMBLE = re.compile(r"^(?:here is|here's|caption)\b[^:]*:\s*", re.IGNORECASE)


def build_messages(top_text: str, caption: str) -> list[dict[str, str]]:
    """Chat messages for an OpenAI-compatible ``/chat/completions`` endpoint."""
    parts = []
    if caption.strip():
        parts.append(f"Caption printed with the image: {caption.strip()}")
    parts.append(f"Most relevant sentence from the surrounding documents: {top_text.strip()}")
    parts.append("Write the caption.")
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(parts)}]


def parse_answer(response: dict) -> str:
    """The first choice's text, stripped of a leading "Here is the caption:" and wrapping quotes."""
    choices = response.get("choices") or []
    if not choices:
        raise ValueError("completion has no choices")
    content = ((choices[0].get("message") or {}).get("content") or "").strip()
    content = _PREAMBLE.sub("", content).strip().strip('"“”').strip()
    return " ".join(content.split())[:MAX_SYNTHETIC_CHARS]
