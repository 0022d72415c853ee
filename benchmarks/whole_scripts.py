"""The programs ``benchmarks.whole`` runs, one process each, as a user would write them.

Each is plain Python run with ``python -c``: imports, a client, one upload of the file,
nothing else. ``argv``: endpoint, bucket, key, path, part size, workers, scratch folder,
checksum mode (ossnb only). With ``OSSNB_BENCH_STARTUP_ONLY=1`` a program stops after
building its client (start-up cost alone). The epilogue prints the in-process wall time of
the upload and the process's peak RSS (``VmHWM``) on one ``WHOLE-RESULT`` line; it costs
microseconds.
"""

from __future__ import annotations

from .common import DEV_KEY, DEV_SECRET, REGION

__all__ = ["MARK", "SCRIPTS"]

MARK = "WHOLE-RESULT "

_PROLOGUE = f"""\
import os, sys, time
endpoint, bucket_name, key, path, part_size, workers, work = sys.argv[1:8]
part_size, workers = int(part_size), int(workers)
KEY, SECRET, REGION = {DEV_KEY!r}, {DEV_SECRET!r}, {REGION!r}
startup_only = os.environ.get("OSSNB_BENCH_STARTUP_ONLY") == "1"
"""

_EPILOGUE = f"""\
wall = time.perf_counter() - started if not startup_only else 0.0
with open("/proc/self/status") as status:
    hwm = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
print({MARK!r} + '{{"wall_s": %r, "peak_rss_bytes": %d}}' % (wall, hwm), flush=True)
"""

OSSNB = """\
import ossnb
checksum = sys.argv[8]
client = ossnb.Client(endpoint, ossnb.Credentials(KEY, SECRET), region=REGION)
if not startup_only:
    started = time.perf_counter()
    session = ossnb.UploadSession(
        client, path, bucket_name, key, part_size=part_size, workers=workers,
        checkpoint=os.path.join(work, "upload.ossnb-checkpoint.json"), checksum=checksum,
    )
    session.start()
    assert session.wait().verified
"""

OSS2 = """\
import oss2
auth = oss2.AuthV4(KEY, SECRET)
bucket = oss2.Bucket(auth, endpoint, bucket_name, region=REGION, enable_crc=True)
if not startup_only:
    started = time.perf_counter()
    result = oss2.resumable_upload(
        bucket, key, path, store=oss2.ResumableStore(root=work, dir="oss2-store"),
        multipart_threshold=part_size, part_size=part_size, num_threads=workers,
    )
    assert result.status == 200
"""

OSS_V2 = """\
import alibabacloud_oss_v2 as oss
cfg = oss.config.load_default()
cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(KEY, SECRET)
cfg.region, cfg.endpoint = REGION, endpoint
assert not cfg.disable_upload_crc64_check
client = oss.Client(cfg)
if not startup_only:
    started = time.perf_counter()
    uploader = client.uploader(part_size=part_size, parallel_num=workers)
    result = uploader.upload_file(oss.PutObjectRequest(bucket=bucket_name, key=key), path)
    assert result.status_code == 200
"""

FLOOR = """\
# The least any Python client can spend on a CRC-64-checked multipart upload: no library,
# http.client and V1 signatures inline; per part, 1 MiB pieces read (os.preadv) into one
# reused buffer and CRC-64'd, each sent from the file by os.sendfile (no copy through the
# buffer); each part's x-oss-hash-crc64ecma checked.
import base64, hashlib, hmac, http.client, threading
from email.utils import formatdate
from urllib.parse import urlsplit
from fastcrc import crc64
host, port = urlsplit(endpoint).hostname, urlsplit(endpoint).port
resource = f"/{bucket_name}/{key}"

def request(conn, method, sub, length=0, body=None, content_type=""):
    date = formatdate(usegmt=True)
    to_sign = f"{method}\\n\\n{content_type}\\n{date}\\n{resource}?{sub}"
    signature = base64.b64encode(hmac.new(SECRET.encode(), to_sign.encode(), "sha1").digest())
    conn.putrequest(method, f"{resource}?{sub}", skip_accept_encoding=True)
    for name, value in (("Date", date), ("Authorization", f"OSS {KEY}:{signature.decode()}"),
                        ("Content-Length", str(length)), ("Content-Type", content_type)):
        if value:
            conn.putheader(name, value)
    conn.endheaders()
    crc = 0
    for piece, at in body or ():  # at: the piece's offset in the file (None: send it)
        crc = crc64.xz(piece, initial=crc)
        sent = 0 if at is not None else conn.send(piece) or len(piece)
        while sent < len(piece):
            sent += os.sendfile(conn.sock.fileno(), fd, at + sent, len(piece) - sent)
    reply = conn.getresponse()
    data = reply.read()
    assert reply.status == 200, (reply.status, data[:300])
    return reply, data, crc

if not startup_only:
    started = time.perf_counter()
    conn = http.client.HTTPConnection(host, port)
    _, data, _ = request(conn, "POST", "uploads", content_type="application/octet-stream")
    upload_id = data.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode()
    fd, size = os.open(path, os.O_RDONLY), os.path.getsize(path)
    numbers, etags, lock = iter(range(1, -(-size // part_size) + 1)), {}, threading.Lock()

    def pieces(offset, length, view):
        for at in range(offset, offset + length, len(view)):
            piece = view[: min(len(view), offset + length - at)]
            assert os.preadv(fd, [piece], at) == len(piece)
            yield piece, at

    def worker():
        own, view = http.client.HTTPConnection(host, port), memoryview(bytearray(1 << 20))
        while True:
            with lock:
                number = next(numbers, None)
            if number is None:
                return
            offset = (number - 1) * part_size
            length = min(part_size, size - offset)
            reply, _, crc = request(own, "PUT", f"partNumber={number}&uploadId={upload_id}",
                                    length, pieces(offset, length, view))
            assert int(reply.getheader("x-oss-hash-crc64ecma")) == crc
            etags[number] = reply.getheader("etag")

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    xml = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{etags[n]}</ETag></Part>"
                  for n in sorted(etags)).encode()
    body = b"<CompleteMultipartUpload>" + xml + b"</CompleteMultipartUpload>"
    request(conn, "POST", f"uploadId={upload_id}", len(body), [(body, None)], "application/xml")
"""

SCRIPTS = {
    name: _PROLOGUE + body + _EPILOGUE
    for name, body in (("ossnb", OSSNB), ("oss2", OSS2), ("oss-v2", OSS_V2), ("floor", FLOOR))
}
