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

SCRIPTS = {
    name: _PROLOGUE + body + _EPILOGUE
    for name, body in (("ossnb", OSSNB), ("oss2", OSS2), ("oss-v2", OSS_V2))
}
