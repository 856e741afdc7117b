"""Where webhooks may be sent (server-side request forgery).

An owner chooses the address our servers will POST to, so an address must not lead into our own
networks (the database, the cloud's metadata service at 169.254.169.254, an admin port on
localhost). Unless ``settings.webhooks.allow_private_targets`` (development) is on:

- at registration the host is resolved (the event loop's ``getaddrinfo``) and refused when it is,
  or resolves to, any private, loopback, link-local, multicast, reserved, unspecified or CGNAT
  address, IPv4 or IPv6 (IPv4 addresses embedded in IPv6 included);
- at every connection the same check runs again, in the HTTP client's network backend
  (``GuardedBackend``): it resolves the host itself, checks every address and connects to a
  checked address, so a name that resolved to a public address at registration and to
  127.0.0.1 now (DNS rebinding) is refused. TLS still verifies and sends the URL's host name.

The client never follows redirects (a 3xx is a failed attempt) and ignores proxy variables of
the environment (a proxy would make the connection, unchecked).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
import typing
from urllib.parse import urlsplit

import anyio
import httpcore
import httpx

from qianbao.webhooks.errors import (
    URL_MALFORMED,
    URL_NOT_HTTPS,
    URL_TOO_LONG,
    URL_UNRESOLVED,
    URL_WITH_CREDENTIALS,
    URL_WITH_FRAGMENT,
    UrlInvalid,
    UrlNotPublic,
)

MAX_URL_LENGTH = 2000
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges ``is_global`` does not exclude everywhere (it changed between Python releases), or
# that carry an IPv4 address inside IPv6 (checked as that IPv4 address).
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",  # CGNAT (RFC 6598)
        "192.0.0.0/24",
        "198.18.0.0/15",
        "224.0.0.0/3",  # multicast and the old class E
    )
)
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    """True for an address on the public internet, where a webhook may go."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None and not is_public(embedded):
            return False
    elif any(ip in net for net in _NOT_PUBLIC):
        return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def literal_address(host: str) -> IPAddress | None:
    """The host as an IP address when it is written as one (``[::1]`` included)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


REGISTRATION_DNS_TIMEOUT_S = 3.0


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to now (the event loop's ``getaddrinfo``)."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]))
        if ip not in found:
            found.append(ip)
    return found


def check_url(url: str) -> tuple[str, str, int]:
    """The URL's form: http or https, at most 2000 characters, a host, no user info, no
    fragment. Returns ``(url, host, port)``."""
    if not isinstance(url, str) or not url.strip():
        raise UrlInvalid()
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise UrlInvalid(URL_TOO_LONG)
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise UrlInvalid(URL_MALFORMED)
    try:
        parts = urlsplit(url)
        port = parts.port
        parsed = httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        raise UrlInvalid(URL_MALFORMED) from exc
    if parts.scheme.lower() not in ("https", "http"):
        raise UrlInvalid(URL_NOT_HTTPS)
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise UrlInvalid(URL_WITH_CREDENTIALS)
    if parts.fragment or url.endswith("#"):
        raise UrlInvalid(URL_WITH_FRAGMENT)
    host = parsed.raw_host.decode("ascii")  # IDNA-encoded, as it is resolved
    if not host or not parts.hostname:
        raise UrlInvalid(URL_MALFORMED)
    default_port = 443 if parts.scheme.lower() == "https" else 80
    return url, host, port or default_port


async def check_target(url: str, *, allow_private: bool) -> str:
    """``check_url``; then, unless private targets are allowed (development): the host's
    addresses now (a private target is refused as such, whatever its scheme), and https."""
    url, host, port = check_url(url)
    if allow_private:
        return url
    try:
        # The caller's request holds a database connection meanwhile: a slow name server is
        # given a few seconds, then the URL is refused as unresolved (the owner can try again).
        addresses = await asyncio.wait_for(resolve(host, port), REGISTRATION_DNS_TIMEOUT_S)
    except (OSError, UnicodeError, TimeoutError) as exc:
        raise UrlInvalid(URL_UNRESOLVED) from exc
    if not addresses:
        raise UrlInvalid(URL_UNRESOLVED)
    if not all(is_public(ip) for ip in addresses):
        raise UrlNotPublic()
    if not url.lower().startswith("https://"):
        raise UrlInvalid(URL_NOT_HTTPS)
    return url


class TargetNotPublic(httpcore.ConnectError):
    """The connection was refused by us: the host resolves to an address that is not public."""


class GuardedBackend(httpcore.AnyIOBackend):
    """httpcore's AnyIO backend, resolving names itself: every address must be public, and the
    connection goes to one of those checked addresses (never to a second lookup's answer)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                addresses = await resolve(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        refused = [str(ip) for ip in addresses if not is_public(ip)]
        if refused or not addresses:
            raise TargetNotPublic(f"target address not public: {', '.join(refused)}")
        last: Exception | None = None
        for ip in addresses:
            try:
                return await super().connect_tcp(
                    str(ip),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's default verifying context (certifi), built once: it takes ~20 ms."""
    return httpx.create_ssl_context()


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with ``GuardedBackend`` under its connection pool (httpx offers no
    argument for the network backend, so the pool is built here the way httpx builds it)."""

    def __init__(self, *, max_connections: int) -> None:
        super().__init__(verify=_ssl_context(), trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            network_backend=GuardedBackend(),
        )


def make_client(settings: typing.Any) -> httpx.AsyncClient:
    """The client deliveries are sent with: no redirects, no proxies from the environment, the
    attempt timeout, and the connect-time address check unless private targets are allowed."""
    ws = settings.webhooks
    connections = max(ws.concurrency, 1)
    transport: httpx.AsyncBaseTransport
    if ws.allow_private_targets:
        transport = httpx.AsyncHTTPTransport(
            verify=_ssl_context(),
            trust_env=False,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )
    else:
        transport = GuardedTransport(max_connections=connections)
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(ws.timeout_s),
        # Uncompressed answers: the excerpt is read raw, so a compressed one cannot balloon.
        headers={"user-agent": "Qianbao-Webhooks/1", "accept-encoding": "identity"},
    )
