"""Reaching the network safely: the one way the project fetches a URL (URL lists today, remote images next).

:func:`fetch` connects only to public internet addresses (checked on the resolved address of every
connection and redirect), honours ``X-Robots-Tag: noai`` / ``noimageai``, and bounds bytes and time.
"""

from pin_assets.core.net.addresses import METADATA_ADDRESSES, parse_networks, refusal
from pin_assets.core.net.fetch import (
    BLOCKED,
    OPTED_OUT,
    Fetched,
    FetchError,
    FetchPolicy,
    fetch,
    resolve_allowed,
)
from pin_assets.core.net.optout import AI_OPT_OUTS, opted_out

__all__ = [
    "AI_OPT_OUTS", "BLOCKED", "METADATA_ADDRESSES", "OPTED_OUT", "FetchError", "FetchPolicy", "Fetched", "fetch",
    "opted_out", "parse_networks", "refusal", "resolve_allowed",
]
