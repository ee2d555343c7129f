"""Fetching one URL from the public internet only, within a size and time budget.

Every connection, the first and each redirect's, goes through the same steps:

1. the URL must be ``http`` or ``https`` with a host;
2. the host is resolved, and *every* address it resolves to is judged by
   :func:`pin_assets.core.net.addresses.refusal` (loopback, private, link-local, multicast, metadata...
   refused unless ``allowed_networks`` lists them); one refused address refuses the URL;
3. the socket connects to an address that was judged (never a second lookup, so a DNS answer that
   changes between check and connect cannot slip through), and the peer it reached is checked again.

Redirects are followed by hand (at most ``max_redirects``), each hop judged anew. Environment proxies are
ignored on purpose: through a proxy the address that is finally reached cannot be checked. A response whose
``X-Robots-Tag`` opts out of AI training (``noai``, ``noimageai``) is refused before its body is read, unless
the policy says otherwise. Bodies are bounded by ``max_bytes`` (declared length and bytes read) and the whole
fetch, redirects included, by ``timeout_s``.

The module is Dagster-free and takes plain values, so ingest (URL lists) and the converters (remote images)
share it; errors are :class:`FetchError` with a short ``reason`` fit for a quarantine row.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from pin_assets.core.net.addresses import IPNetwork, refusal
from pin_assets.core.net.optout import AI_OPT_OUTS, opted_out

USER_AGENT = "pin-factory/0.1 (+batch ingest)"
AGENT_TOKEN = "pin-factory"  # the name X-Robots-Tag scopes would use for this fetcher
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 2**16

# FetchError reasons. The first three are refusals by policy (the URL was never, or not fully, fetched on
# purpose); the rest are failures of the remote side.
BLOCKED = "blocked_address"
OPTED_OUT = "noai"
BAD_URL = "bad_url"
REFUSALS = frozenset({BLOCKED, OPTED_OUT, BAD_URL})


class FetchError(Exception):
    """A URL that was refused or could not be fetched; ``reason`` is one word, the message says the rest."""

    def __init__(self, reason: str, message: str, url: str = ""):
        super().__init__(message)
        self.reason = reason
        self.url = url

    def __reduce__(self):  # plain values across process boundaries
        return (type(self), (self.reason, str(self), self.url))

    @property
    def refused(self) -> bool:
        """Refused by policy (address, opt-out, scheme) rather than failed on the remote side."""
        return self.reason in REFUSALS


@dataclass(frozen=True)
class FetchPolicy:
    """What a fetch may reach and spend. The defaults reach only the public internet and honour opt-outs."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    timeout_s: float = 60.0
    max_bytes: int = 512 * 2**20
    max_redirects: int = 5
    honour_opt_outs: bool = True
    opt_outs: tuple[str, ...] = AI_OPT_OUTS
    user_agent: str = USER_AGENT
    agent_token: str = AGENT_TOKEN


@dataclass(frozen=True)
class Fetched:
    """A fetched body and where it came from."""

    url: str  # as asked for
    final_url: str  # after redirects
    address: str  # the IP address the body came from
    status: int
    content_type: str
    body: bytes
    redirects: tuple[str, ...] = field(default=())


def resolve_allowed(host: str, port: int, policy: FetchPolicy, url: str = "") -> list[str]:
    """The addresses ``host`` resolves to, all of them allowed; raises FetchError(BLOCKED) naming one that is not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError("unreachable", f"{url or host}: host {host!r} does not resolve ({exc})", url) from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        why = refusal(address.split("%")[0], policy.allowed_networks)
        if why is not None:
            where = f"{host} is a {why}" if host == address else f"{host} resolves to a {why}"
            raise FetchError(BLOCKED, f"{url or host}: refused, {where} (only public internet addresses are "
                             "fetched; the fetch_allowed_networks setting lists exceptions)", url)
    if not addresses:
        raise FetchError("unreachable", f"{url or host}: host {host!r} has no address", url)
    return addresses


def _split(url: str) -> tuple[str, str, int, str]:
    """Scheme, host, port and path-with-query of an http(s) URL; FetchError(BAD_URL) for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(BAD_URL, f"{url[:200]!r}: not a valid URL ({exc})", url) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(BAD_URL, f"{url[:200]!r}: only http(s) URLs with a host are fetched", url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


class _Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self, url: str) -> float:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise FetchError("timeout", f"{url}: no complete answer within timeout_s={self.seconds:g}", url)
        return remaining


def _connect(addresses: list[str], port: int, deadline: _Deadline, url: str) -> socket.socket:
    """A TCP connection to the first judged address that answers; the peer is checked once more."""
    error: OSError | None = None
    for address in addresses:
        try:
            sock = socket.create_connection((address, port), timeout=deadline.left(url))
        except OSError as exc:
            error = exc
            continue
        peer = sock.getpeername()[0]
        if peer.split("%")[0] != address.split("%")[0]:
            sock.close()
            raise FetchError(BLOCKED, f"{url}: connected to {peer}, not the checked address {address}", url)
        return sock
    raise FetchError("unreachable", f"{url}: cannot connect ({error})", url)


def _open(scheme: str, host: str, port: int, sock: socket.socket, deadline: _Deadline,
          url: str) -> http.client.HTTPConnection:
    """An HTTP(S) connection over the already connected socket (TLS verified against ``host``)."""
    timeout = deadline.left(url)
    if scheme == "https":
        context = ssl.create_default_context()
        try:
            sock = context.wrap_socket(sock, server_hostname=host)
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            raise FetchError("tls", f"{url}: TLS handshake failed ({exc})", url) from None
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(host, port, timeout=timeout,
                                                                              context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    connection.sock = sock  # already connected to the judged address: http.client never resolves the host
    return connection


def fetch(url: str, policy: FetchPolicy | None = None) -> Fetched:
    """GET ``url`` under ``policy``; raises FetchError with reason ``blocked_address``, ``noai``, ``bad_url``,
    ``too_large``, ``timeout``, ``http_error``, ``too_many_redirects``, ``unreachable`` or ``tls``."""
    policy = policy or FetchPolicy()
    deadline = _Deadline(policy.timeout_s)
    current, hops = url, []
    while True:
        scheme, host, port, path = _split(current)
        addresses = resolve_allowed(host, port, policy, current)
        sock = _connect(addresses, port, deadline, current)
        peer = sock.getpeername()[0]
        connection = _open(scheme, host, port, sock, deadline, current)
        try:
            response = _request(connection, path, policy, deadline, current)
            location = response.getheader("Location")
            if response.status in REDIRECT_STATUSES and location:
                if len(hops) >= policy.max_redirects:
                    raise FetchError("too_many_redirects",
                                     f"{url}: more than max_redirects={policy.max_redirects} redirects", url)
                hops.append(current)
                current = urljoin(current, location.strip())
                continue
            if response.status >= 400:
                raise FetchError("http_error", f"{current}: HTTP {response.status} {response.reason}", url)
            _refuse_opt_outs(response, policy, current, url)
            body = _read_body(connection, response, policy, deadline, current, url)
            return Fetched(url, current, peer, response.status, response.getheader("Content-Type") or "", body,
                           tuple(hops))
        except (http.client.HTTPException, OSError) as exc:
            if isinstance(exc, TimeoutError):
                raise FetchError("timeout", f"{current}: timed out (timeout_s={policy.timeout_s:g})", url) from None
            raise FetchError("unreachable", f"{current}: {type(exc).__name__}: {exc}", url) from None
        finally:
            connection.close()


def _request(connection: http.client.HTTPConnection, path: str, policy: FetchPolicy, deadline: _Deadline,
             url: str) -> http.client.HTTPResponse:
    connection.timeout = deadline.left(url)
    connection.sock.settimeout(connection.timeout)
    connection.request("GET", path, headers={"User-Agent": policy.user_agent, "Accept-Encoding": "identity"})
    return connection.getresponse()


def _refuse_opt_outs(response: http.client.HTTPResponse, policy: FetchPolicy, current: str, url: str) -> None:
    if not policy.honour_opt_outs:
        return
    found = opted_out(response.headers.get_all("X-Robots-Tag") or [], policy.agent_token, policy.opt_outs)
    if found:
        raise FetchError(OPTED_OUT, f"{current}: skipped, the response opts out of AI training "
                         f"(X-Robots-Tag: {', '.join(found)})", url)


def _read_body(connection: http.client.HTTPConnection, response: http.client.HTTPResponse, policy: FetchPolicy,
               deadline: _Deadline, current: str, url: str) -> bytes:
    declared = response.getheader("Content-Length") or ""
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise FetchError("too_large", f"{current}: {int(declared):,} bytes declared, over the limit of "
                         f"{policy.max_bytes:,} (fetch_max_bytes)", url)
    chunks: list[bytes] = []
    total = 0
    while True:
        if connection.sock is not None:  # a slow trickle cannot outlast the fetch's own deadline
            connection.sock.settimeout(deadline.left(current))
        chunk = response.read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > policy.max_bytes:
            raise FetchError("too_large", f"{current}: more than the limit of {policy.max_bytes:,} bytes "
                             "(fetch_max_bytes)", url)
        chunks.append(chunk)
