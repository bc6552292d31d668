"""Webhook HTTP: connections go to the addresses just checked, and an attempt ends on time.

Checking a host's addresses, then letting the HTTP client look the name up again to connect,
leaves a gap: a name can answer a public address to the check and 127.0.0.1 to the connection
(DNS rebinding). Here each new connection resolves its host once and connects to an address
that lookup gave and the check passed. TLS is still verified against the URL's host name (SNI
and certificate), and the Host header is that name: only the address is pinned.

A read timeout bounds each read, not an answer that trickles in a byte at a time. An attempt
has one deadline for all of it (connecting, TLS, sending, reading); when it passes, the
attempt's sockets are shut down, which ends a blocked read at once.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from contextvars import ContextVar
from types import TracebackType
from typing import Any

import certifi
import urllib3
import urllib3.exceptions
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from service.urls import AddressInfo, allowed_addresses

# What a failed attempt raises: urllib3's errors (a malformed URL's too) and the socket's own.
TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, OSError)

_current: ContextVar[Attempt | None] = ContextVar("webhook_attempt", default=None)


class Attempt:
    """One attempt's rules for the connections it makes: whether private addresses may be
    called, and a deadline ``timeout`` seconds from entering it. Used as a context manager."""

    def __init__(self, timeout: float, *, allow_private: bool) -> None:
        self.timeout = timeout
        self.allow_private = allow_private
        self.expired = False
        self._deadline = 0.0
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []
        self._timer = threading.Timer(timeout, self._expire)
        self._timer.daemon = True

    def remaining(self) -> float:
        return self._deadline - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down at the deadline. A duplicate of its descriptor is kept: TLS wraps
        the socket in a new object, and the duplicate still reaches the same connection."""
        duplicate = socket.socket(fileno=os.dup(sock.fileno()))
        with self._lock:
            self._watched.append(duplicate)
            if self.expired:
                _shut_down(duplicate)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for duplicate in self._watched:
                _shut_down(duplicate)

    def __enter__(self) -> Attempt:
        self._deadline = time.monotonic() + self.timeout
        self._token = _current.set(self)
        self._timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        _current.reset(self._token)
        with self._lock:
            for duplicate in self._watched:
                duplicate.close()
            self._watched.clear()


def _shut_down(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # not connected (yet, or any more): nothing to interrupt


class _PinnedConnection(HTTPConnection):
    """Connects to an address of its host that the current attempt may call, looked up once."""

    def _new_conn(self) -> socket.socket:
        attempt = _current.get()
        # Outside an attempt, only the check applies: no private address, no deadline.
        allow_private = attempt.allow_private if attempt else False
        infos = allowed_addresses(self._dns_host, self.port, allow_private=allow_private)
        error: OSError | None = None
        for info in infos:
            try:
                return self._connect(info, attempt)
            except OSError as exc:
                error = exc
        if isinstance(error, TimeoutError):
            raise urllib3.exceptions.ConnectTimeoutError(
                self, f"Connection to {self.host} timed out."
            ) from error
        raise urllib3.exceptions.NewConnectionError(
            self, f"Failed to establish a new connection: {error}"
        ) from error

    def _connect(self, info: AddressInfo, attempt: Attempt | None) -> socket.socket:
        family, kind, proto, _, address = info
        sock = socket.socket(family, kind, proto)
        try:
            for option in self.socket_options or ():
                sock.setsockopt(*option)
            timeout = self.timeout if isinstance(self.timeout, int | float) else None
            if attempt is not None:
                attempt.watch(sock)
                left = attempt.remaining()
                if left <= 0:
                    raise TimeoutError("the attempt's deadline passed")
                timeout = min(timeout, left) if timeout is not None else left
            sock.settimeout(timeout)
            if self.source_address:
                sock.bind(self.source_address)
            sock.connect(address)
            return sock
        except BaseException:
            sock.close()
            raise

    def request(self, *args: Any, **kwargs: Any) -> None:
        """A connection from the pool is watched by the attempt that reuses it."""
        attempt = _current.get()
        if attempt is not None and self.sock is not None:
            attempt.watch(self.sock)
        super().request(*args, **kwargs)


class _PinnedHTTPSConnection(_PinnedConnection, HTTPSConnection):
    """TLS over the pinned socket; urllib3 verifies the certificate against ``self.host``."""


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


def webhook_pool(pool_size: int, ca_certs: str | None = None) -> urllib3.PoolManager:
    """The HTTP client webhooks go out over: pinned connections, kept alive per endpoint host,
    never retried or redirected here. urllib3 itself rather than ``requests`` over it: an
    attempt is on every comment's path, and requests' per-request preparation (merging
    settings, cookies, hooks) costs more than sending it.

    Certificates are verified against ``ca_certs`` (default: certifi's bundle). The
    environment's proxies and ``.netrc`` are not used: a proxy would look the name up again,
    past the check, and a receiver gets no credentials of this machine."""
    pool = urllib3.PoolManager(
        num_pools=pool_size,
        maxsize=pool_size,
        retries=False,
        cert_reqs="CERT_REQUIRED",
        ca_certs=ca_certs or certifi.where(),
    )
    pool.pool_classes_by_scheme = {"http": _PinnedHTTPPool, "https": _PinnedHTTPSPool}
    return pool
