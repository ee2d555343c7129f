"""How web pages are converted: comments, the title, and whether their remote images are fetched.

Kept apart from the HTML converter (no lxml or trafilatura import) so settings and limits can be built
anywhere, including processes that never open a page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pin_assets.core.net import FetchPolicy

FetchImages = Literal["auto", "on", "off"]
FETCH_IMAGES: tuple[FetchImages, ...] = ("auto", "on", "off")


@dataclass(frozen=True)
class ImageFetchBounds:
    """What fetching one page's remote images may cost, the way OBELICS/MMC4 builders bound img2dataset.

    ``max_bytes`` and ``timeout_s`` bound each image (redirects included), ``max_per_page`` the images
    fetched for one page (the first ones in reading order; the rest stay missing), ``page_budget_s`` all of
    a page's fetching together. ``per_host`` caps the connections open to one host at a time and
    ``retries`` the extra tries after a timeout, a dropped connection, HTTP 429 or a 5xx answer. Decoded
    size is bounded by the document's ``max_image_pixels``.
    """

    max_bytes: int = 20 * 2**20
    timeout_s: float = 15.0
    max_per_page: int = 64
    page_budget_s: float = 60.0
    per_host: int = 4
    retries: int = 2


@dataclass(frozen=True)
class WebSettings:
    """Web page conversion settings.

    ``comments``: keep the comment section trafilatura finds, after the main content (off: comments are
    not the page's content and are where most of a page's spam and boilerplate text lives).
    ``title_heading``: put the page's ``<h1>`` on top as a heading when trafilatura files it under metadata
    and leaves it out of the text (off: the text is trafilatura's; the title is in ``ori_meta.title``).
    ``fetch_images``: fetch the main content's remote images: ``on``, ``off``, or ``auto``, which fetches
    for pages that came from the web (a URL list, a WARC) and not for files from a local folder or a store.
    ``fetch_policy`` is what the safe fetcher may reach (allowed networks, opt-outs; ``None``: the public
    internet only, opt-outs honoured) and ``fetch_cache`` the folder the worker processes of one run share,
    so each URL is fetched once per batch (``None``: once per worker process).
    """

    comments: bool = False
    title_heading: bool = False
    fetch_images: FetchImages = "auto"
    fetch: ImageFetchBounds = field(default_factory=ImageFetchBounds)
    fetch_policy: FetchPolicy | None = None
    fetch_cache: str | None = None

    def __post_init__(self) -> None:
        if self.fetch_images not in FETCH_IMAGES:
            raise ValueError(f"fetch_images must be one of {', '.join(FETCH_IMAGES)}, got {self.fetch_images!r}")

    def fetches_images(self, page_url: str | None) -> bool:
        """Whether a page's remote images are fetched: ``auto`` fetches for a page that has a web address."""
        if self.fetch_images == "auto":
            return bool(page_url) and page_url.startswith(("http://", "https://"))
        return self.fetch_images == "on"
