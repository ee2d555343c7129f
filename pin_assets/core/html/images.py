"""Images of a web page: which URL an ``<img>`` really shows, and where its bytes may come from.

Real pages load images lazily: ``src`` is often a 1x1 placeholder while the picture sits in ``data-src``,
``data-lazy-src``, ``srcset`` or a ``<picture>``'s ``<source>``. Candidates are tried real-first, the
placeholder last. Every URL is resolved against the page's ``<base href>`` and its own URL, so a missing
image is recorded with the absolute URL a later fetch would need.

Bytes come only from ``data:`` URIs and from the document's assets (files next to a saved page, keyed by
their relative path, or images captured in the same WARC, keyed by absolute URL). Remote images are never
fetched.
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from pin_assets.core.content_images import load_web_image
from pin_assets.core.document import ExtractedImage
from pin_assets.core.markup.references import normalize_reference

LAZY_ATTRIBUTES = ("data-src", "data-lazy-src", "data-original", "data-url", "data-hi-res-src", "data-full-src")
SRCSET_ATTRIBUTES = ("srcset", "data-srcset", "data-lazy-srcset")


def image_candidates(img: etree._Element) -> list[str]:
    """Every URL an ``<img>`` may show, best first: lazy attributes, ``srcset`` (widest first), the
    ``<source>`` siblings of a ``<picture>``, then ``src``; ``data:`` URIs (usually placeholders) last."""
    found: list[str] = [img.get(a, "").strip() for a in LAZY_ATTRIBUTES]
    for attr in SRCSET_ATTRIBUTES:
        found += parse_srcset(img.get(attr, ""))
    # libxml2 does not know <source> is void and nests the <img> inside it: look for the <picture> above
    picture = next(img.iterancestors("picture"), None)
    if picture is not None:
        for source in picture.iter("source"):
            for attr in SRCSET_ATTRIBUTES:
                found += parse_srcset(source.get(attr, ""))
    found.append((img.get("src") or "").strip())
    unique = list(dict.fromkeys(url for url in found if url and not url.startswith("#")))
    return [u for u in unique if not u.startswith("data:")] + [u for u in unique if u.startswith("data:")]


def parse_srcset(value: str) -> list[str]:
    """URLs of a ``srcset``, the widest (or densest) first."""
    ranked = []
    for part in value.split(","):
        bits = part.split()
        if not bits or bits[0].startswith("data:"):
            continue
        size = bits[1] if len(bits) > 1 else "1x"
        try:
            rank = float(size[:-1]) if size[-1:] in {"w", "x"} else 0.0
        except ValueError:
            rank = 0.0
        ranked.append((rank, bits[0]))
    return [url for _, url in sorted(ranked, key=lambda r: -r[0])]


def page_base(doc: etree._Element, page_url: str | None) -> str | None:
    """The URL relative references resolve against: ``<base href>`` (itself relative to the page), else
    the page's URL, else none (a saved page on disk keeps its relative references)."""
    base = doc.find(".//base[@href]")
    href = (base.get("href") or "").strip() if base is not None else ""
    if href:
        return urllib.parse.urljoin(page_url or "", href) or None
    return page_url or None


def absolute(url: str, base: str | None) -> str:
    if url.startswith("data:") or not base:
        return url
    return urllib.parse.urljoin(base, url)


@dataclass
class ImageContext:
    """Per-page state: where images may be read from, images found, and what went missing."""

    assets: Mapping[str, bytes]
    warnings: list[str]
    base_url: str | None = None
    max_image_pixels: int | None = None
    images: list[ExtractedImage] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def image(self, img: etree._Element, caption: str | None) -> ExtractedImage | None:
        """The first candidate of ``img`` whose bytes we have, as an ExtractedImage; else record it missing."""
        candidates = image_candidates(img)
        if not candidates:
            return None
        problem = None
        for url in candidates:
            data, problem = self._bytes(url)
            if data is None:
                continue
            where = f"image {url[:80]!r}"
            image = load_web_image(data, caption, max_pixels=self.max_image_pixels, where=where)
            if image is not None:
                self.images.append(image)
                return image
            problem = "not a readable image"
        shown = absolute(candidates[0], self.base_url)
        self.missing.append(shown[:500])
        self.warnings.append(f"image {shown[:120]!r} not included: {problem}")
        return None

    def _bytes(self, url: str) -> tuple[bytes | None, str | None]:
        if url.startswith("data:"):
            return data_uri(url)
        full = absolute(url, self.base_url)
        if full in self.assets:  # captured in the same WARC
            return self.assets[full], None
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme in {"http", "https"} or url.startswith("//"):
            return None, "remote image not fetched"
        if parsed.scheme or parsed.netloc:
            return None, f"unsupported URL scheme {parsed.scheme!r}"
        key = normalize_reference(urllib.parse.unquote(parsed.path))
        if key is None:
            return None, "path escapes the document folder"
        if key not in self.assets:
            return None, "file not found in the document folder"
        return self.assets[key], None


def data_uri(src: str) -> tuple[bytes | None, str | None]:
    header, _, payload = src.partition(",")
    try:
        if header.endswith(";base64"):
            return base64.b64decode(payload, validate=False), None
        return urllib.parse.unquote_to_bytes(payload), None
    except ValueError:
        return None, "undecodable data: URI"
