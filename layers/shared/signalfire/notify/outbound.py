"""Outbound safety: every URL or host a user configures is checked before we
connect, and every call has a timeout and a response-size cap.

A destination is refused when any address it resolves to is loopback,
link-local (169.254.0.0/16, including the instance metadata service
169.254.169.254, and fe80::/10), private (10/8, 172.16/12, 192.168/16,
fc00::/7, 100.64/10), multicast, reserved or unspecified, unless the
allowlist names it (a CIDR such as ``10.1.0.0/16`` or a host name).  Local
mode allows loopback so a newcomer can point a channel at a receiver on
127.0.0.1.

The check and the connection use the same address: we resolve once, refuse
or accept every answer, and connect to the accepted IP (Host header and TLS
SNI/certificate check keep the name), so a name that resolves to a public
address at check time cannot be re-pointed at 169.254.169.254 for the
connection (DNS rebinding).  Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    import httpx

from signalfire import deadline

# httpx logs every request line at INFO, URL included: a webhook URL is a secret.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

#: bytes of a response body we read at most; the rest is dropped unread
RESPONSE_CAP = 64 * 1024
MAX_TIMEOUT = 30.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class DestinationRefused(Exception):
    """The destination is not allowed (never retryable)."""


class DestinationUnreachable(Exception):
    """The name did not resolve, or nothing answered (retryable)."""


@dataclass(frozen=True)
class OutboundPolicy:
    allow_loopback: bool = False
    #: CIDRs and host names that may resolve to otherwise refused addresses
    allowlist: tuple[str, ...] = ()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default=(), init=False)
    hosts: frozenset[str] = field(default=frozenset(), init=False)

    def __post_init__(self) -> None:
        nets, hosts = [], set()
        for entry in (e.strip() for e in self.allowlist):
            if not entry:
                continue
            try:
                nets.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        object.__setattr__(self, "networks", tuple(nets))
        object.__setattr__(self, "hosts", frozenset(hosts))

    @classmethod
    def parse(cls, allowlist: str, *, allow_loopback: bool) -> OutboundPolicy:
        """From the ``NotifyAllowlist`` template parameter (comma separated)."""
        return cls(allow_loopback=allow_loopback, allowlist=tuple(p for p in allowlist.split(",") if p.strip()))

    def refusal(self, host: str, ip: IPAddress) -> str | None:
        """Why ``ip`` (an answer for ``host``) is refused, or None."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if host.lower().rstrip(".") in self.hosts or any(ip in n for n in self.networks):
            return None
        if ip.is_loopback:
            return None if self.allow_loopback else "a loopback address"
        if ip.is_link_local:
            return "a link-local address (this includes the instance metadata service)"
        if ip.is_unspecified:
            return "an unspecified address"
        if ip.is_multicast:
            return "a multicast address"
        if ip.is_private or (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED):
            return "a private address"
        if ip.is_reserved or not ip.is_global:
            return "a reserved address"
        return None


_SHARED = ipaddress.ip_network("100.64.0.0/10")


def resolve(host: str, port: int, policy: OutboundPolicy) -> str:
    """The address to connect to for ``host``: every answer must be allowed.

    Raises DestinationRefused (any answer refused) or DestinationUnreachable
    (the name does not resolve)."""
    if not host:
        raise DestinationRefused("no host given")
    try:
        literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        answers = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise DestinationUnreachable(f"{host} does not resolve ({getattr(exc, 'strerror', None) or exc})") from None
        answers = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
    for ip in answers:
        why = policy.refusal(host, ip)
        if why is not None:
            raise DestinationRefused(f"{host} resolves to {why} ({ip}); add it to NotifyAllowlist to allow it")
    return str(answers[0])


def check_url(url: str, policy: OutboundPolicy, *, resolve_name: bool = True) -> None:
    """Refuse a URL that is not http(s) or points at a refused address.  With
    ``resolve_name=False`` a name that does not resolve passes (used when a
    channel is saved: the receiver may not be reachable from here yet)."""
    parts = _split(url)
    try:
        resolve(parts.hostname or "", parts.port or _default_port(parts.scheme), policy)
    except DestinationUnreachable:
        if resolve_name:
            raise


def check_host(host: str, port: int, policy: OutboundPolicy, *, resolve_name: bool = True) -> None:
    try:
        resolve(host, port, policy)
    except DestinationUnreachable:
        if resolve_name:
            raise


def _split(url: str):  # type: ignore[no-untyped-def]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise DestinationRefused("the URL must start with http:// or https://")
    if not parts.hostname:
        raise DestinationRefused("the URL has no host")
    if parts.username or parts.password:
        raise DestinationRefused("credentials in the URL are not allowed; use headers")
    return parts


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


@dataclass
class Reply:
    status: int
    text: str
    headers: dict[str, str]
    truncated: bool = False

    def json(self) -> Any:
        import json

        try:
            return json.loads(self.text)
        except ValueError:
            return None


def request(method: str, url: str, policy: OutboundPolicy, *, json_body: Any = None,
            headers: dict[str, str] | None = None, params: dict[str, str] | None = None,
            timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> Reply:
    """One HTTP call to a checked, pinned address with a timeout and a capped
    response.  Raises DestinationRefused or DestinationUnreachable (which also
    covers timeouts and connection failures)."""
    parts = _split(url)
    host = parts.hostname or ""
    port = parts.port or _default_port(parts.scheme)
    ip = resolve(host, port, policy)
    netloc = (f"[{ip}]" if ":" in ip else ip) + (f":{parts.port}" if parts.port else "")
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    all_headers = {"User-Agent": "signalfire-notify", **(headers or {})}
    all_headers["Host"] = parts.netloc.rsplit("@", 1)[-1]
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    import httpx  # here, not at the top: a cold start that sends nothing over HTTP does not pay for it

    try:
        # the channel's own timeout, cut to what the stage's deadline leaves
        limit = deadline.bound(min(max(float(timeout), 1.0), MAX_TIMEOUT))
    except deadline.DeadlinePassed as exc:
        raise DestinationUnreachable(f"{host} was not called: {exc}") from None
    until = time.monotonic() + limit.seconds
    try:
        with httpx.Client(timeout=httpx.Timeout(limit.seconds), follow_redirects=False, transport=transport,
                          trust_env=False) as client:
            req = client.build_request(method, pinned, json=json_body, headers=all_headers, params=params,
                                       extensions=extensions)
            resp = client.send(req, stream=True)
            try:
                body, truncated = _read_capped(resp, until)
            finally:
                resp.close()
            return Reply(status=resp.status_code, text=body.decode(resp.encoding or "utf-8", "replace"),
                         headers={k.lower(): v for k, v in resp.headers.items()}, truncated=truncated)
    except httpx.TimeoutException:
        raise DestinationUnreachable(f"{host} did not answer within {limit.seconds:.3g}s{limit.says()}") from None
    except httpx.TransportError as exc:
        raise DestinationUnreachable(f"could not reach {host}: {type(exc).__name__}") from None


def _read_capped(resp: httpx.Response, until: float) -> tuple[bytes, bool]:
    """The body, at most RESPONSE_CAP bytes; httpx's timeout bounds each read,
    ``until`` the whole body (a receiver dripping bytes is cut there too)."""
    import httpx  # loaded already by request() (which imports it on first use, for cold start)

    chunks, size = [], 0
    for chunk in resp.iter_bytes():
        if time.monotonic() > until:
            raise httpx.ReadTimeout("the call's time ran out while reading the answer")
        chunks.append(chunk)
        size += len(chunk)
        if size > RESPONSE_CAP:
            return b"".join(chunks)[:RESPONSE_CAP], True
    return b"".join(chunks), False
