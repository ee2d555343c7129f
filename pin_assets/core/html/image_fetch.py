"""Remote images of web pages, fetched the way OBELICS/MMC4 builders fetch theirs (img2dataset): bounded,
polite, once each.

Every connection goes through the project's one safe fetcher (:func:`pin_assets.core.net.fetch`): public
addresses only (checked on the resolved address of each connection and redirect), ``X-Robots-Tag: noai`` /
``noimageai`` honoured, bytes and time bounded. On top of it this module adds what a batch of pages needs:

- each URL is fetched once per batch: the worker processes of a run share a cache folder, where the first
  process to want a URL takes a lock on it, fetches it and writes the result (the bytes under their
  sha256, or the reason it failed); every other page that shows the same image reads that result;
- at most ``per_host`` connections to one host at a time, across all worker processes (lock slots in the
  same folder), and a handful of fetches at a time for one page;
- retries after timeouts, dropped connections, HTTP 429 and 5xx answers, with a short back-off, inside
  the page's time budget; refusals (address, opt-out, size) are never retried;
- at most ``max_per_page`` images for a page, in reading order; the rest stay missing, with the reason.

Every image that is not fetched keeps its reason, which the page records (``missing_image_reasons``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import hashlib
import json
import os
import re
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pin_assets.core.web_settings import ImageFetchBounds

if TYPE_CHECKING:
    from pin_assets.core.limits import DocumentLimits

PAGE_THREADS = 8  # fetches at a time for one page
RETRY_AFTER_S = (0.5, 2.0)  # back-off before the first and later retries
_STATUS = re.compile(r"HTTP (\d{3})")

Result = tuple[bytes | None, str | None]  # the image's bytes, or None and why not


class ImageFetcher:
    """Fetches the remote images of pages for one batch (see the module docstring).

    ``cache_dir`` is the batch's shared cache folder (``None``: a private one in memory, for a single
    page or process); ``policy`` the safe fetcher's :class:`~pin_assets.core.net.FetchPolicy` (allowed
    networks, opt-outs), whose byte and time limits are tightened to ``bounds`` per image.
    """

    def __init__(self, bounds: ImageFetchBounds, policy: object | None = None, cache_dir: str | None = None):
        from pin_assets.core.net import FetchPolicy

        base = policy if isinstance(policy, FetchPolicy) else FetchPolicy()
        self.bounds = bounds
        self.policy = base
        self.cache = Path(cache_dir) if cache_dir else None
        self._failed: dict[str, str] = {}  # URLs this process found unfetchable (reasons only: no bytes kept)
        if self.cache is not None:
            for folder in ("urls", "blobs", "locks"):
                (self.cache / folder).mkdir(parents=True, exist_ok=True)

    def __call__(self, urls: Sequence[str]) -> dict[str, Result]:
        """The result of each URL of one page, fetching those no page of the batch has fetched yet."""
        deadline = time.monotonic() + self.bounds.page_budget_s
        wanted = list(dict.fromkeys(urls))
        results: dict[str, Result] = {
            url: (None, f"over max_per_page: only the first {self.bounds.max_per_page} images of a page are "
                  "fetched") for url in wanted[self.bounds.max_per_page:]
        }
        wanted = wanted[: self.bounds.max_per_page]
        if not wanted:
            return results
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(PAGE_THREADS, len(wanted))) as pool:
            for url, result in zip(wanted, pool.map(lambda u: self._once(u, deadline), wanted), strict=True):
                results[url] = result
        return results

    # ------------------------------------------------------------ once per batch

    def _once(self, url: str, deadline: float) -> Result:
        if url in self._failed:
            return None, self._failed[url]
        if self.cache is None:
            result = self._fetch(url, deadline)
        else:
            key = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()
            with _locked(self.cache / "locks" / f"{key}.lock"):  # a second process waits for the first's result
                result = self._cached(key)
                if result is None:
                    result = self._fetch(url, deadline)
                    if not _transient(result):  # a page out of time leaves the URL to another page
                        self._store(key, url, result)
        if result[0] is None and not _transient(result):
            self._failed[url] = result[1] or "failed"
        return result

    def _cached(self, key: str) -> Result | None:
        entry = self.cache / "urls" / f"{key}.json"
        if not entry.is_file():
            return None
        record = json.loads(entry.read_text(encoding="utf-8"))
        if record.get("sha256"):
            blob = self.cache / "blobs" / record["sha256"]
            return (blob.read_bytes(), None) if blob.is_file() else None
        return None, record.get("reason") or "failed"

    def _store(self, key: str, url: str, result: Result) -> None:
        data, reason = result
        record: dict[str, str] = {"url": url}
        if data is not None:
            digest = hashlib.sha256(data).hexdigest()
            _write_atomic(self.cache / "blobs" / digest, data)
            record["sha256"] = digest
        else:
            record["reason"] = reason or "failed"
        _write_atomic(self.cache / "urls" / f"{key}.json", json.dumps(record).encode())

    # ------------------------------------------------------------ one fetch, politely

    def _fetch(self, url: str, deadline: float) -> Result:
        from pin_assets.core.net import FetchError, fetch

        host = (urllib.parse.urlsplit(url).hostname or "").lower()
        reason = f"not fetched: the page's page_budget_s={self.bounds.page_budget_s:g} was spent"
        for attempt in range(self.bounds.retries + 1):
            left = deadline - time.monotonic()
            if left <= 0.05:
                return None, reason if attempt == 0 else f"{reason}; page_budget_s spent before a retry"
            policy = replace(self.policy, timeout_s=min(self.bounds.timeout_s, left), max_bytes=self.bounds.max_bytes)
            try:
                with self._host_slot(host):
                    fetched = fetch(url, policy)
            except FetchError as exc:
                reason = f"{exc.reason}: {exc}"[:300]
                pause = RETRY_AFTER_S[min(attempt, len(RETRY_AFTER_S) - 1)]
                if _retryable(exc) and attempt < self.bounds.retries and deadline - time.monotonic() > pause + 0.5:
                    time.sleep(pause)
                    continue
                return None, reason
            return (fetched.body, None) if fetched.body else (None, "empty answer")
        return None, reason

    @contextlib.contextmanager
    def _host_slot(self, host: str) -> Iterator[None]:
        """One of ``per_host`` connection slots for ``host``, shared by every process of the batch."""
        if self.cache is None or self.bounds.per_host <= 0:
            yield
            return
        name = hashlib.sha256(host.encode()).hexdigest()[:16]
        slots = [self.cache / "locks" / f"host-{name}-{i}.lock" for i in range(self.bounds.per_host)]
        handles = []
        try:
            for slot in slots:  # a free slot, if there is one
                handle = open(slot, "a+b")  # noqa: SIM115 - held for the connection's lifetime
                handles.append(handle)
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                yield
                return
            fcntl.flock(handles[int(name, 16) % len(handles)], fcntl.LOCK_EX)  # else wait for one
            yield
        finally:
            for handle in handles:
                handle.close()  # closing releases the lock


def _retryable(exc: object) -> bool:
    """Timeouts, dropped or refused connections, HTTP 429 and 5xx: worth another try. A host name that does
    not resolve is not: it will not resolve a second later either (a dead site's images cost one lookup)."""
    reason = getattr(exc, "reason", "")
    if reason == "timeout":
        return True
    if reason == "unreachable":
        return "does not resolve" not in str(exc)
    if reason == "http_error":
        status = _STATUS.search(str(exc))
        return bool(status) and (status.group(1) == "429" or status.group(1).startswith("5"))
    return False


def _transient(result: Result) -> bool:
    return result[0] is None and "page_budget_s" in (result[1] or "")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _write_atomic(path: Path, data: bytes) -> None:
    staging = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
    staging.write_bytes(data)
    os.replace(staging, path)


@contextlib.contextmanager
def batch_fetch_cache(limits: DocumentLimits) -> Iterator[DocumentLimits]:
    """``limits`` naming a fetch cache folder that the worker processes of one run share, so each URL is
    fetched once per batch; a temporary folder, removed when the run ends (the images themselves are
    stored by content like every other image)."""
    if limits.web.fetch_images == "off" or limits.web.fetch_cache:
        yield limits
        return
    with tempfile.TemporaryDirectory(prefix="pin-image-fetch-") as folder:
        yield replace(limits, web=replace(limits.web, fetch_cache=folder))


def fetch_function(bounds: ImageFetchBounds, policy: object | None, cache_dir: str | None) -> ImageFetcher:
    """The fetcher of one worker process for a batch: one per cache folder, reused across the batch's pages,
    so a URL another page of this process already answered costs nothing."""
    key = (bounds, repr(policy), cache_dir)
    fetcher = _FETCHERS.get(key)
    if fetcher is None:
        fetcher = _FETCHERS[key] = ImageFetcher(bounds, policy, cache_dir)
    return fetcher


_FETCHERS: dict[tuple, ImageFetcher] = {}


def page_fetcher(limits: DocumentLimits, page_url: str | None) -> ImageFetcher | None:
    """The fetcher of a web page's remote images when the settings fetch them for this page (``None``
    otherwise); half of the document's time limit is the most its images may take."""
    web = limits.web
    if not web.fetches_images(page_url):
        return None
    bounds = replace(web.fetch, page_budget_s=min(web.fetch.page_budget_s, 0.5 * limits.timeout_s))
    return fetch_function(bounds, web.fetch_policy, web.fetch_cache)
