"""Uploads: multipart bodies and URLs streamed to temp files, checked, then stored.

A body is never held whole in memory: each file part is written to a temp
file under ``<data>/tmp`` as it arrives, with a running size check (over the
limit, writing stops at once, the temp file is removed and the request
answers 4002) and a running SHA-256.  A complete file is probed (undecodable
answers 4001) and renamed into the content-addressed store
``<data>/media/<sha[:2]>/<sha><ext>``, so the same content is stored once.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import os
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

import httpx
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from tui.backend.errors import ApiError, Invalid, TooLarge, Unsupported
from tui.backend.probe import probe_media

#: At most this many files in one request.
MAX_FILES = 20
#: After a file goes over the limit, read (and drop) at most this much more of
#: the body so that an ordinary client still gets the 4002 answer.
DRAIN_BYTES = 64 * 1024 * 1024
URL_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_REDIRECTS = 5


def base_name(raw: str, default: str) -> str:
    """The last component of a client-given name or URL path (decoded first), never a
    path: ``../../a.webm`` and ``..%2F..%2Fa.webm`` are both ``a.webm``."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return default if name in ("", ".", "..") else name


@dataclass
class Incoming:
    """One received file, still in its temp file."""

    name: str
    tmp: Path
    size: int = 0
    sha: Any = field(default_factory=hashlib.sha256)


def _too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"file larger than the limit of {limit // (1024 * 1024)} MB; trim or compress it",
        data={"limit_bytes": limit},
    )


def _not_stored(exc: OSError) -> ApiError:
    """The server's disk refused the upload (full, over a quota, read-only): say so in one line."""
    return ApiError(
        f"the server could not store the upload ({exc.strerror or exc}); nothing was kept, "
        "try again later"
    )


def _discard(files: list[Incoming]) -> None:
    for item in files:
        item.tmp.unlink(missing_ok=True)


class _MultipartSink:
    """python-multipart callbacks that write each file part to its own temp file."""

    def __init__(self, tmp_dir: Path, limit: int) -> None:
        self.tmp_dir, self.limit = tmp_dir, limit
        self.files: list[Incoming] = []
        self.over = False
        self._current: Incoming | None = None
        self._fh: Any = None
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: setattr(
                self, "_header_name", self._header_name + d[s:e]
            ),
            "on_header_value": lambda d, s, e: setattr(
                self, "_header_value", self._header_value + d[s:e]
            ),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        filename = params.get(b"filename")
        if filename is None or self.over:
            return  # a plain form field, or we stopped storing: ignore its data
        if len(self.files) >= MAX_FILES:
            raise Invalid(f"at most {MAX_FILES} files per upload")
        name = base_name(filename.decode("utf-8", "replace"), "upload")
        fd, tmp = tempfile.mkstemp(prefix="upload-", dir=self.tmp_dir)
        self._fh = os.fdopen(fd, "wb")
        self._current = Incoming(name=name, tmp=Path(tmp))
        self.files.append(self._current)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        item = self._current
        if item is None or self.over:
            return
        chunk = data[start:end]
        item.size += len(chunk)
        if item.size > self.limit:
            # Cut off: stop writing now and remove what was written.
            self.over = True
            self._close()
            _discard(self.files)
            return
        item.sha.update(chunk)
        self._fh.write(chunk)

    def _part_end(self) -> None:
        self._close()

    def _close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self._current = None


async def receive_multipart(request: Request, tmp_dir: Path, limit: int) -> list[Incoming]:
    """Stream a multipart body's ``files`` parts to temp files (see module doc)."""
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise Invalid("multipart body without a boundary")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_FILES * limit + DRAIN_BYTES:
        raise _too_large(limit)
    sink = _MultipartSink(tmp_dir, limit)
    parser = MultipartParser(boundary, sink.callbacks())  # type: ignore[arg-type]
    drained = 0
    try:
        async for chunk in request.stream():
            if sink.over:
                drained += len(chunk)
                if drained > DRAIN_BYTES:
                    break
                continue
            parser.write(chunk)
        if not sink.over:
            parser.finalize()
    except Invalid:
        sink._close()
        _discard(sink.files)
        raise
    except OSError as exc:  # our own disk, not the client's body
        sink._close()
        _discard(sink.files)
        raise _not_stored(exc) from exc
    except Exception as exc:  # a malformed body: python-multipart raises its own errors
        sink._close()
        _discard(sink.files)
        raise Invalid(f"malformed multipart body: {exc}") from exc
    finally:
        sink._close()
    if sink.over:
        raise _too_large(limit)
    if not sink.files:
        raise Invalid("no file in the upload: send one or more 'files' parts")
    return sink.files


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _public_address(host: str) -> bool:
    """True when every address ``host`` resolves to is a public one."""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        raise Invalid(f"cannot resolve {host}: {exc.strerror}") from exc
    return all(_is_public(str(info[4][0])) for info in infos)


def connected_to_public(response: httpx.Response) -> bool:
    """True when the address ``response`` really came from is a public one.

    The name was checked before connecting, but a name can resolve to a public
    address for the check and to a private one for the connection (DNS
    rebinding); so the peer of the open connection is checked too, before a
    byte of the body is read.  Unknown peer: not public.
    """
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    return peer is not None and _is_public(str(peer[0]))


def _valid(url: str) -> SplitResult:
    """``url`` split; what httpx would choke on (a bad port, an IPv6 bracket, an IDNA
    label) is a 422, not a 500."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        raise Invalid(f"not a valid URL: {url} ({exc})") from exc
    try:
        httpx.URL(url)
    except (ValueError, UnicodeError, httpx.InvalidURL) as exc:
        # A well-formed name that no IDNA rule allows ("xn--" garbage) names nothing.
        raise Invalid(f"cannot resolve {parts.hostname}: {exc}") from exc
    return parts


async def _check_url(url: str, allow_private: bool) -> None:
    parts = _valid(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"only http and https URLs can be fetched: {url}")
    if not allow_private and not await asyncio.to_thread(_public_address, parts.hostname):
        raise Invalid(f"{parts.hostname} is a private or loopback address; not fetched")


async def fetch_url(url: str, tmp_dir: Path, limit: int, allow_private: bool) -> Incoming:
    """Download ``url`` to a temp file under the same limits as a multipart upload."""
    name = base_name(unquote(_valid(url).path), "download")
    fd, tmp = tempfile.mkstemp(prefix="url-", dir=tmp_dir)
    item = Incoming(name=name, tmp=Path(tmp))
    try:
        with os.fdopen(fd, "wb") as fh:
            async with httpx.AsyncClient(timeout=URL_TIMEOUT, follow_redirects=False) as http:
                await _follow(http, url, allow_private, _Sink(item, fh, limit))
        return item
    except (httpx.HTTPError, UnicodeError) as exc:  # UnicodeError: a host IDNA refuses
        item.tmp.unlink(missing_ok=True)
        raise Invalid(f"could not fetch {url}: {exc}") from exc
    except OSError as exc:  # writing the temp file failed
        item.tmp.unlink(missing_ok=True)
        raise _not_stored(exc) from exc
    except BaseException:
        item.tmp.unlink(missing_ok=True)
        raise


@dataclass
class _Sink:
    """Where a fetched body goes: the upload's record, its open temp file, the size limit."""

    item: Incoming
    fh: BinaryIO
    limit: int


async def _follow(http: httpx.AsyncClient, url: str, allow_private: bool, sink: _Sink) -> None:
    """GET ``url``, following at most MAX_REDIRECTS redirects, into ``sink``."""
    try:
        for _ in range(MAX_REDIRECTS + 1):
            # Every hop is checked, so a redirect cannot lead to a private address.
            await _check_url(url, allow_private)
            async with http.stream("GET", url) as response:
                if not allow_private and not connected_to_public(response):
                    host = urlsplit(url).hostname
                    raise Invalid(
                        f"{host} answered from a private or loopback address; not fetched"
                    )
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                await _save_body(response, url, sink)
                return
    except (httpx.HTTPError, UnicodeError) as exc:  # said of the hop that failed
        raise Invalid(f"could not fetch {url}: {exc}") from exc
    raise Invalid(f"too many redirects fetching {url}")


async def _save_body(response: httpx.Response, url: str, sink: _Sink) -> None:
    """Write a 200 answer's body to the sink, refusing it past the limit."""
    if response.status_code != 200:
        raise Invalid(f"fetching {url} answered HTTP {response.status_code}")
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > sink.limit:
        raise _too_large(sink.limit)
    item = sink.item
    async for chunk in response.aiter_bytes(1 << 20):
        item.size += len(chunk)
        if item.size > sink.limit:
            raise _too_large(sink.limit)
        item.sha.update(chunk)
        sink.fh.write(chunk)


def admit(media_dir: Path, incoming: list[Incoming]) -> list[tuple[str, Path, dict[str, Any]]]:
    """Probe each temp file and move it into the content store.

    Returns ``(sha256, stored path, info)`` per file.  On any undecodable
    file every temp file of the request is removed and 4001 is raised:
    an upload is taken whole or not at all.
    """
    admitted: list[tuple[str, Path, dict[str, Any]]] = []
    try:
        probed = []
        for item in incoming:
            try:
                info = probe_media(item.tmp)
            except Unsupported as exc:
                raise Unsupported(f"{item.name}: {exc.message}", data=exc.data) from exc
            probed.append((item, info))
        for item, info in probed:
            digest = item.sha.hexdigest()
            folder = media_dir / digest[:2]
            folder.mkdir(exist_ok=True)
            dest = folder / f"{digest}.{info['format']}"
            if dest.exists():
                item.tmp.unlink(missing_ok=True)  # same content already stored
            else:
                os.replace(item.tmp, dest)
            info = {**info, "name": item.name, "size": item.size}
            admitted.append((digest, dest, info))
    finally:
        _discard(incoming)
    return admitted
