"""Images of a web page: which URL an ``<img>`` really shows, where its bytes come from, and how it is written.

Real pages load images lazily: ``src`` is often a 1x1 placeholder while the picture sits in ``data-src``,
``data-lazy-src``, ``srcset`` or a ``<picture>``'s ``<source>``. Candidates are tried real-first, the
placeholder last. Every URL is resolved against the page's ``<base href>`` and its own URL, so a missing
image is recorded with the absolute URL a later fetch would need.

Bytes come from ``data:`` URIs, from the document's assets (files next to a saved page, keyed by their
relative path, or images captured in the same WARC, keyed by absolute URL) and, when the caller passes a
fetch function, from the web (:mod:`pin_assets.core.html.image_fetch`).

While a page is converted, each image it shows is written as a placeholder token (``![](TOKEN)``), so the
two renderings that meet in :mod:`pin_assets.core.html.merge` can share and de-duplicate images. Once the
Markdown is final, :meth:`ImageContext.resolve` turns each token into one of the two documented forms:

- ``![alt](content_image/NAME)`` for an image whose bytes we have (NAME is the content hash);
- ``![alt](missing_image/N)`` for one we do not: it keeps its place in the reading order (so the
  interleaving of text and images stays true), and ``N`` indexes the document's ``missing_images`` list
  (absolute URLs, main-content images only) and ``missing_image_reasons`` (why each is missing).
"""

from __future__ import annotations

import base64
import re
import secrets
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from lxml import etree

from pin_assets.core.content_images import load_web_image
from pin_assets.core.document import ConversionError, ExtractedImage
from pin_assets.core.markup.references import normalize_reference

LAZY_ATTRIBUTES = ("data-src", "data-lazy-src", "data-original", "data-url", "data-hi-res-src", "data-full-src")
SRCSET_ATTRIBUTES = ("srcset", "data-srcset", "data-lazy-srcset")
NOT_FETCHED = "remote image not fetched (fetch_images is off)"
# A placeholder for one image of the page while its Markdown is assembled: plain letters (trafilatura's
# serializer drops unprintable characters) with a random part, so no page text can ever spell one. Every
# placeholder is replaced before the Markdown leaves this module, so the randomness never shows.
_TOKEN = "pin-image-{nonce}-{number}"

# bytes, or None with the reason; called once per page with every remote URL the page needs
Fetch = Callable[[Sequence[str]], Mapping[str, "tuple[bytes | None, str | None]"]]


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


def is_remote(url: str) -> bool:
    return urllib.parse.urlparse(url).scheme in {"http", "https"} or url.startswith("//")


def figure_caption(img: etree._Element) -> str | None:
    """The caption of the ``<figure>`` an image stands in, as plain text."""
    figure = next(img.iterancestors("figure"), None)
    caption = figure.find(".//figcaption") if figure is not None else None
    text = " ".join("".join(caption.itertext()).split()) if caption is not None else ""
    return text or None


@dataclass
class PageImage:
    """One ``<img>`` the Markdown shows: where it may come from and what describes it."""

    candidates: list[str]
    alt: str
    caption: str | None


@dataclass
class ImageContext:
    """Per-page state: where images may be read from, the images referenced, and what went missing."""

    assets: Mapping[str, bytes]
    warnings: list[str]
    base_url: str | None = None
    max_image_pixels: int | None = None
    images: list[ExtractedImage] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    missing_reasons: list[str] = field(default_factory=list)
    _tokens: dict[etree._Element, int] = field(default_factory=dict)
    _pages: list[PageImage] = field(default_factory=list)
    _nonce: str = field(default_factory=lambda: secrets.token_hex(6))

    @property
    def token_ref(self) -> re.Pattern[str]:
        """A Markdown image whose address is one of this page's placeholders; group 1 is its number."""
        return re.compile(r"!\[[^\]\n]*\]\(pin-image-" + self._nonce + r"-(\d+)\)")

    def token(self, img: etree._Element, caption: str | None = None) -> str | None:
        """The placeholder address of ``img`` (the same each time it is asked for), or ``None`` when the
        element names no image at all."""
        token = self._tokens.get(img)
        if token is None:
            candidates = image_candidates(img)
            if not candidates:
                return None
            alt = " ".join((img.get("alt") or "").split())
            token = len(self._pages)
            self._pages.append(PageImage(candidates, alt, caption or figure_caption(img) or alt or None))
            self._tokens[img] = token
        return _TOKEN.format(nonce=self._nonce, number=token)

    def ref(self, img: etree._Element, caption: str | None = None) -> str | None:
        """A placeholder Markdown image for ``img`` (see :meth:`token`)."""
        token = self.token(img, caption)
        return f"![]({token})" if token is not None else None

    def resolve(self, markdown: str, fetch: Fetch | None = None) -> str:
        """Replace every placeholder by its documented form (see the module docstring).

        An image referenced twice keeps its first place only. ``images`` and ``missing`` come out in the
        order the Markdown shows them; ``fetch`` (when given) is asked once for every remote image the
        page has no local bytes for.
        """
        self.images.clear()
        self.missing.clear()
        self.missing_reasons.clear()
        order = list(dict.fromkeys(int(m.group(1)) for m in self.token_ref.finditer(markdown)))
        found = {token: self._local(self._pages[token]) for token in order}
        urls = {token: absolute(self._pages[token].candidates[0], self.base_url) for token in order}
        remote = [urls[t] for t in order if found[t][0] is None and is_remote(urls[t])]
        fetched = fetch(list(dict.fromkeys(remote))) if fetch is not None and remote else {}
        written: dict[int, str] = {}
        for token in order:
            page, url = self._pages[token], urls[token]
            image, problem = found[token]
            if image is None and url in fetched:
                image, problem = self._fetched(fetched[url], page, url)
            alt = page.alt.replace("[", "(").replace("]", ")")
            if image is not None:
                self.images.append(image)
                written[token] = f"![{alt}](content_image/{image.name})"
                continue
            shown = url[:500]
            if shown not in self.missing:
                self.missing.append(shown)
                self.missing_reasons.append(problem or "unavailable")
                self.warnings.append(f"image {url[:120]!r} not included: {problem}")
            written[token] = f"![{alt}](missing_image/{self.missing.index(shown)})"
        seen: set[int] = set()
        last = (-1, "")  # where the last image written ends, and what it shows

        def write(match: re.Match[str]) -> str:
            """An image once, and not twice in a row (a lazy image and its <noscript> copy)."""
            nonlocal last
            token = int(match.group(1))
            shows = written[token][written[token].index("]("):]
            if token in seen or (shows == last[1] and not markdown[last[0]:match.start()].strip()):
                return ""
            seen.add(token)
            last = (match.end(), shows)
            return written[token]

        resolved = self.token_ref.sub(write, markdown)
        self.images[:] = list({image.name: image for image in self.images}.values())
        return resolved

    def _local(self, page: PageImage) -> tuple[ExtractedImage | None, str | None]:
        """The image from the page itself or the files that came with it, trying every candidate."""
        problem = None
        for url in page.candidates:
            data, problem = self._bytes(url)
            if data is None:
                continue
            image = load_web_image(data, page.caption, max_pixels=self.max_image_pixels, where=f"image {url[:80]!r}")
            if image is not None:
                return image, None
            problem = "not a readable image"
        return None, problem

    def _fetched(
        self, result: tuple[bytes | None, str | None], page: PageImage, url: str
    ) -> tuple[ExtractedImage | None, str | None]:
        """A fetched image, decoded; one over the pixel limit is missing, not fatal (the page is fine)."""
        data, problem = result
        if data is None:
            return None, problem
        try:
            image = load_web_image(data, page.caption, max_pixels=self.max_image_pixels, where=f"image {url[:80]!r}")
        except ConversionError as exc:
            return None, str(exc)
        return (image, None) if image is not None else (None, "not a readable image")

    def _bytes(self, url: str) -> tuple[bytes | None, str | None]:
        if url.startswith("data:"):
            return data_uri(url)
        full = absolute(url, self.base_url)
        if full in self.assets:  # captured in the same WARC
            return self.assets[full], None
        parsed = urllib.parse.urlparse(url)
        if is_remote(url):
            return None, NOT_FETCHED
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
