"""Opt-outs of AI training a response declares in its ``X-Robots-Tag`` headers (``noai``, ``noimageai``).

The directives are the ones img2dataset honours by default. A header value may scope its directives to
one crawler (``otherbot: noai``); those apply only when the crawler is ``*`` or this fetcher's own token,
as in Google's ``X-Robots-Tag`` syntax, so another bot's rule does not silence ours or the reverse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

AI_OPT_OUTS = ("noai", "noimageai")
_SCOPED = re.compile(r"^\s*([A-Za-z0-9_.*-]+)\s*:\s*(.*)$")
# Directives that take a value after a colon: "unavailable_after: ...", "max-snippet: 20" are not a scope.
_VALUED = frozenset({"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"})


def opted_out(header_values: Iterable[str], agent: str, directives: Iterable[str] = AI_OPT_OUTS) -> list[str]:
    """The opt-out ``directives`` (lower case) that the ``X-Robots-Tag`` values declare for ``agent``."""
    wanted = {d.lower() for d in directives}
    agent = agent.lower()
    found: list[str] = []
    for value in header_values:
        scope = "*"
        for part in value.split(","):
            token = part.strip()
            scoped = _SCOPED.match(token)
            if scoped and scoped.group(1).lower() not in _VALUED:
                scope, token = scoped.group(1).lower(), scoped.group(2).strip()
            directive = token.lower()
            if directive in wanted and scope in ("*", agent) and directive not in found:
                found.append(directive)
    return found
