"""Two harnesses with no library around them: ``python -m benchmarks.ceiling '<job json>'``.

* ``ceiling``: the least a checked multipart upload can do. Each of ``workers`` threads
  owns one keep-alive connection (a bare socket) and one part buffer, and loops:
  ``os.preadv`` a part into the buffer, MD5 it, CRC-64 it (``fastcrc``), PUT the buffer
  as the body (sent with its head in one ``sendmsg``, no copy) with ``Content-MD5``, and check the returned
  ETag and ``x-oss-hash-crc64ecma``. Initiate and Complete around it. V1 signatures are
  computed inline (HMAC-SHA1: microseconds a request).
* ``emulator``: how fast the emulator absorbs parts. The same loop, but every part is one
  pre-built random ``bytes`` block: no read, no hashing, no checks on the client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import threading
from collections.abc import Callable
from email.utils import formatdate
from typing import Any
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

from fastcrc import crc64

from .common import Job
from .measure import clock, run_main

__all__ = ["main"]


class RawOss:
    """Just enough OSS over one keep-alive socket: V1-signed requests, answers read by hand.

    No ``http.client``: its answer parsing (``email.parser``, ~0.1 ms a request) would
    cost the harness more CPU than some of what it measures, and on a two-core machine
    the harness's CPU is taken from the emulator's. The head and the body go out in one
    ``sendmsg`` (the body uncopied); the answer is read up to its ``Content-Length``.
    """

    def __init__(self, job: Job) -> None:
        parts = urlsplit(job.endpoint)
        self._job = job
        self._address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._host = parts.netloc
        self._sock = socket.create_connection(self._address)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._pending = b""
        self._path = f"/{job.bucket}/{quote(job.key)}"
        self._resource = f"/{job.bucket}/{job.key}"
        self._secret = job.access_key_secret.encode()

    def request(
        self,
        method: str,
        sub: str,
        body: bytes | memoryview = b"",
        md5_b64: str = "",
        content_type: str = "",
    ) -> tuple[int, dict[str, str], bytes]:
        date = formatdate(usegmt=True)
        to_sign = f"{method}\n{md5_b64}\n{content_type}\n{date}\n{self._resource}?{sub}"
        signature = hmac.new(self._secret, to_sign.encode(), hashlib.sha1).digest()
        head = (
            f"{method} {self._path}?{sub} HTTP/1.1\r\nHost: {self._host}\r\nDate: {date}\r\n"
            f"Authorization: OSS {self._job.access_key_id}:{base64.b64encode(signature).decode()}"
            f"\r\nContent-Length: {len(body)}\r\n"
        )
        if md5_b64:
            head += f"Content-MD5: {md5_b64}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        out = [memoryview((head + "\r\n").encode()), memoryview(body)]
        while out:  # sendmsg may send part of it
            sent = self._sock.sendmsg(out)
            while out and sent >= len(out[0]):
                sent -= len(out.pop(0))
            if out:
                out[0] = out[0][sent:]
        status, headers, data = self._answer()
        if status >= 300:
            raise RuntimeError(f"{method} ?{sub} answered {status}: {data[:300]!r}")
        return status, headers, data

    def _answer(self) -> tuple[int, dict[str, str], bytes]:
        buffer = self._pending
        while b"\r\n\r\n" not in buffer:
            buffer += self._recv()
        head, _, rest = buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", ""):
            raise RuntimeError("a chunked answer: this harness reads Content-Length only")
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            rest += self._recv()
        self._pending = rest[length:]
        return int(status_line.split()[1]), headers, rest[:length]

    def _recv(self) -> bytes:
        data = self._sock.recv(65536)
        if not data:
            raise RuntimeError("the emulator closed the connection")
        return data

    def close(self) -> None:
        self._sock.close()


def initiate(raw: RawOss) -> str:
    _, _, body = raw.request("POST", "uploads", content_type="application/octet-stream")
    upload_id = ElementTree.fromstring(body).findtext("UploadId")
    assert upload_id, body
    return upload_id


def complete(raw: RawOss, upload_id: str, etags: dict[int, str]) -> dict[str, str]:
    xml = "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{etags[n]}</ETag></Part>" for n in sorted(etags)
    )
    body = f"<CompleteMultipartUpload>{xml}</CompleteMultipartUpload>".encode()
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    _, headers, _ = raw.request("POST", f"uploadId={upload_id}", body, md5, "application/xml")
    return headers


# (offset, size, the thread's own buffer) -> body, Content-MD5, CRC-64
Part = Callable[[int, int, memoryview], tuple[memoryview, str, int | None]]


def run_parts(job: Job, upload_id: str, part: Part, check: bool) -> dict[int, str]:
    """Send every part on ``job.workers`` threads; returns part number -> quoted ETag."""
    count = max(1, -(-job.size // job.part_size))
    numbers = iter(range(1, count + 1))
    lock = threading.Lock()
    etags: dict[int, str] = {}
    errors: list[BaseException] = []

    def worker() -> None:
        raw = RawOss(job)
        buffer = memoryview(bytearray(job.part_size if check else 0))
        try:
            while not errors:
                with lock:
                    number = next(numbers, None)
                if number is None:
                    return
                offset = (number - 1) * job.part_size
                body, md5_b64, crc = part(offset, min(job.part_size, job.size - offset), buffer)
                sub = f"partNumber={number}&uploadId={upload_id}"
                _, headers, _ = raw.request("PUT", sub, body, md5_b64 if check else "")
                etag = headers["etag"]
                if check:
                    md5_hex = base64.b64decode(md5_b64).hex().upper()
                    assert etag.strip('"') == md5_hex, f"part {number}: ETag {etag}"
                    assert int(headers["x-oss-hash-crc64ecma"]) == crc, f"part {number}: CRC-64"
                with lock:
                    etags[number] = etag
        except BaseException as exc:
            errors.append(exc)
        finally:
            raw.close()

    threads = [threading.Thread(target=worker) for _ in range(min(job.workers, count))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return etags


def ceiling(job: Job) -> dict[str, Any]:
    fd = os.open(job.path, os.O_RDONLY)

    def part(offset: int, size: int, buffer: memoryview) -> tuple[memoryview, str, int | None]:
        data = buffer[:size]
        got = os.preadv(fd, [data], offset)
        assert got == size, f"short read at {offset}"
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
        return data, md5, crc64.xz(data)

    raw = RawOss(job)
    try:
        with clock() as took:
            upload_id = initiate(raw)
            etags = run_parts(job, upload_id, part, check=True)
            complete(raw, upload_id, etags)
    finally:
        raw.close()
        os.close(fd)
    return {**took.as_dict(), "parts": len(etags)}


def emulator(job: Job) -> dict[str, Any]:
    block = memoryview(os.urandom(job.part_size))
    tail = job.size % job.part_size
    expected, offset = 0, 0
    while offset < job.size:  # the CRC-64 the object must end up with (parent checks it)
        size = min(job.part_size, job.size - offset)
        expected = crc64.xz(block[:size] if size != job.part_size else block, initial=expected)
        offset += size
    tail_block = block[:tail] if tail else block

    def part(offset: int, size: int, buffer: memoryview) -> tuple[memoryview, str, int | None]:
        return (block if size == job.part_size else tail_block), "", None

    raw = RawOss(job)
    try:
        with clock() as took:
            upload_id = initiate(raw)
            etags = run_parts(job, upload_id, part, check=False)
            complete(raw, upload_id, etags)
    finally:
        raw.close()
    return {
        **took.as_dict(),
        "parts": len(etags),
        "expected_crc64": expected,
    }


HARNESSES = {"ceiling": ceiling, "emulator": emulator}


def main(argv: list[str]) -> dict[str, Any]:
    job = Job.from_json(argv[0])
    result = HARNESSES[job.contender](job)
    return {"contender": job.contender, "bytes": job.size, **result}


if __name__ == "__main__":
    run_main(main)
