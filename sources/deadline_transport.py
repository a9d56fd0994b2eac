"""An httpx transport that bounds each request in total, and gives up at once on shutdown.

httpx's timeouts are per operation: a server that sends one byte every 10 s never trips a 30 s
read timeout, so one request could run for ever (and hold a source's round, and `run` after
SIGTERM). Here every request gets one total deadline (connect + TLS + every read of the body,
`total_s` from the moment it is sent), and a shared stop event is obeyed within `SLICE_S`:

- the network backend clamps every connect, handshake and read to what is left of the deadline,
  and cuts a blocking read into slices of `SLICE_S`, checking the stop event between them;
- the response stream checks the deadline and the stop event between chunks.

A request past its deadline raises `httpx.ReadTimeout` (or `ConnectTimeout`) saying so; a
request cut short by the stop event raises `FetchStopped`. The transport also holds every body
to `max_bytes` while it streams (`ResponseTooLarge`), whatever the caller does with it: the
operator's `[http] max_bytes` binds every source; a source may ask for less. The deadline
travels in a context variable, set around each step by the transport, so a thread reading two
responses keeps them apart.
"""

from __future__ import annotations

import contextvars
import threading
import time
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpcore
import httpx

__all__ = ["SLICE_S", "DeadlineTransport", "FetchStopped", "ResponseTooLarge", "bounded_backend"]

#: how often a blocked read looks at the stop event (seconds)
SLICE_S = 0.25

T = typing.TypeVar("T")


class FetchStopped(httpx.TransportError):
    """The process is stopping: the request was abandoned (not a failure of the source)."""


class ResponseTooLarge(httpx.TransportError):
    """The body is larger than the client's cap (`[http] max_bytes`)."""


@dataclass
class _Bound:
    started: float  # time.monotonic() when the request was sent
    total_s: float
    stop: threading.Event
    #: seconds spent waiting in silence, counted by the kernel's timeouts: the deadline holds
    #: even when the process clock does not move (a frozen libfaketime clock)
    silent_s: float = 0.0

    def spent(self) -> float:
        return max(time.monotonic() - self.started, self.silent_s)


_BOUND: contextvars.ContextVar[_Bound | None] = contextvars.ContextVar("request_bound",
                                                                       default=None)


@contextmanager
def _bound(bound: _Bound) -> Iterator[None]:
    token = _BOUND.set(bound)
    try:
        yield
    finally:
        _BOUND.reset(token)


def _check(bound: _Bound | None, timeout_error: type[Exception]) -> float | None:
    """Seconds left of the current request (None: unbounded); raises when out of time."""
    if bound is None:
        return None
    if bound.stop.is_set():
        raise FetchStopped("stopping: request abandoned")
    left = bound.total_s - bound.spent()
    if left <= 0:
        raise timeout_error(f"no complete response within the total deadline of "
                            f"{bound.total_s:g}s")
    return left


def _clamp(timeout: float | None, left: float | None) -> float | None:
    if left is None:
        return timeout
    return left if timeout is None else min(timeout, left)


class _BoundedStream(httpcore.NetworkStream):
    """A network stream whose reads obey the request's deadline and the stop event."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        bound = _BOUND.get()
        if bound is None:
            return self._inner.read(max_bytes, timeout)
        started, silent = time.monotonic(), 0.0
        while True:
            left = _check(bound, httpcore.ReadTimeout)
            waited = max(time.monotonic() - started, silent)
            per_read = None if timeout is None else timeout - waited
            if per_read is not None and per_read <= 0:
                raise httpcore.ReadTimeout(f"no data for {timeout:g}s")
            wait = min(SLICE_S, _clamp(per_read, left) or SLICE_S)
            try:
                return self._inner.read(max_bytes, wait)
            except httpcore.ReadTimeout:
                # A slice passed in silence: count it, look at the clock and the stop event.
                silent += wait
                bound.silent_s += wait

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, _check(_BOUND.get(), httpcore.WriteTimeout)))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: typing.Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        left = _check(_BOUND.get(), httpcore.ConnectTimeout)
        return _BoundedStream(self._inner.start_tls(ssl_context, server_hostname,
                                                    _clamp(timeout, left)))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _BoundedBackend(httpcore.NetworkBackend):
    """httpcore's own sync backend, with connects clamped to the deadline and bounded streams."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None,
                    ) -> httpcore.NetworkStream:
        bound = _BOUND.get()
        timeout = _clamp(timeout, _check(bound, httpcore.ConnectTimeout))

        def connect() -> httpcore.NetworkStream:
            return self._inner.connect_tcp(host, port, timeout, local_address, socket_options)

        if bound is None:
            return _BoundedStream(connect())
        return _BoundedStream(_Connect(connect).wait(bound))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: typing.Iterable[typing.Any] | None = None,
                            ) -> httpcore.NetworkStream:
        left = _check(_BOUND.get(), httpcore.ConnectTimeout)
        return _BoundedStream(self._inner.connect_unix_socket(path, _clamp(timeout, left),
                                                              socket_options))

    def sleep(self, seconds: float) -> None:
        # httpcore sleeps between connect retries: never past the deadline, never on shutdown.
        bound = _BOUND.get()
        left = _check(bound, httpcore.ConnectTimeout)
        wait = _clamp(seconds, left) or 0.0
        if bound is not None and bound.stop.wait(wait):
            raise FetchStopped("stopping: request abandoned")
        if bound is None:
            self._inner.sleep(wait)


class _Connect:
    """A connect (DNS, then TCP: neither can be interrupted) on a helper thread, so the caller
    can give up on the stop event; a stream that arrives after that is closed, not leaked."""

    def __init__(self, connect: typing.Callable[[], httpcore.NetworkStream]) -> None:
        self._connect = connect
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._abandoned = False
        self._stream: httpcore.NetworkStream | None = None
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            stream = self._connect()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            with self._lock:
                self._error = exc
        else:
            with self._lock:
                if self._abandoned:
                    stream.close()
                else:
                    self._stream = stream
        finally:
            self._done.set()

    def wait(self, bound: _Bound) -> httpcore.NetworkStream:
        """The connected stream; raises the connect's error, or FetchStopped on the stop event
        (the connect's own timeout, clamped to the deadline, bounds the rest)."""
        threading.Thread(target=self._run, name="connect", daemon=True).start()
        while not self._done.wait(SLICE_S):
            if bound.stop.is_set():
                with self._lock:
                    if self._stream is None and self._error is None:
                        self._abandoned = True
                        raise FetchStopped("stopping: connect abandoned")
                break
        if self._error is not None:
            raise self._error
        assert self._stream is not None
        return self._stream


def bounded_backend() -> httpcore.NetworkBackend:
    """The network backend `DeadlineTransport` needs under its inner transport's pool."""
    return _BoundedBackend()


class _BoundedBody(httpx.SyncByteStream):
    """A response body read under its request's deadline, checked between chunks too."""

    def __init__(self, inner: httpx.SyncByteStream, bound: _Bound, max_bytes: int) -> None:
        self._inner = inner
        self._bound = bound
        self._max_bytes = max_bytes

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._inner)
        size = 0
        while True:
            _check(self._bound, httpx.ReadTimeout)
            with _bound(self._bound):
                chunk = next(chunks, None)
            if chunk is None:
                return
            size += len(chunk)
            if size > self._max_bytes:
                raise ResponseTooLarge(f"response exceeds the cap of {self._max_bytes} bytes "
                                       "([http] max_bytes)")
            yield chunk

    def close(self) -> None:
        self._inner.close()


class DeadlineTransport(httpx.BaseTransport):
    """Wraps a transport (whose pool uses `bounded_backend()`) with a total deadline per request
    and the stop event.

    `total_s` is the whole budget of one request: connect, TLS, headers and every read of the
    body. Each redirect is a request of its own (httpx caps them).
    """

    def __init__(self, inner: httpx.BaseTransport, *, total_s: float,
                 stop: threading.Event, max_bytes: int) -> None:
        self._inner = inner
        self._total_s = total_s
        self._stop = stop
        self._max_bytes = max_bytes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send under a fresh deadline; the response body keeps that deadline."""
        bound = _Bound(time.monotonic(), self._total_s, self._stop)
        _check(bound, httpx.ConnectTimeout)
        with _bound(bound):
            response = self._inner.handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            response.close()
            raise ResponseTooLarge(f"response of {declared} bytes exceeds the cap of "
                                   f"{self._max_bytes} bytes ([http] max_bytes)")
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_BoundedBody(response.stream, bound, self._max_bytes),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._inner.close()
