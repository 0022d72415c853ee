"""One child entry per contender: ``python -m benchmarks.clients '<job json>'``.

Each builds its client first, then measures only the upload of ``job.path`` to
``job.key``: same part size, same parallelism, CRC-64 checking on in all three.

* ``ossnb``: ``UploadSession(...).start()`` then ``wait()``; the session checks each
  part's ETag and CRC-64, the combined CRC-64 at Complete, and HEADs the object. It keeps
  a checkpoint file (like oss2's store) in the job's scratch folder.
* ``oss2``: ``oss2.resumable_upload`` on ``Bucket(enable_crc=True)`` (AuthV4), with a
  ``ResumableStore`` in the scratch folder (docs/PROTOCOL.md §6.1).
* ``oss-v2``: ``client.uploader(part_size=, parallel_num=).upload_file`` with the CRC-64
  check on, its default (docs/PROTOCOL.md §6.2).
"""

from __future__ import annotations

import os
from typing import Any

from .common import Job
from .measure import clock, run_main

__all__ = ["main"]


def upload_ossnb(job: Job) -> dict[str, Any]:
    from ossnb.client.client import Client
    from ossnb.protocol.signing import Credentials
    from ossnb.upload.session import UploadSession

    credentials = Credentials(job.access_key_id, job.access_key_secret)
    with Client(job.endpoint, credentials, region=job.region) as client:
        session = UploadSession(
            client,
            job.path,
            job.bucket,
            job.key,
            part_size=job.part_size,
            workers=job.workers,
            checkpoint=os.path.join(job.work_dir, "upload.ossnb-checkpoint.json"),
        )
        with clock() as took:
            session.start()
            receipt = session.wait()
    if not receipt.verified:
        raise RuntimeError(f"ossnb did not verify the upload: {receipt.state}")
    return {**took.as_dict(), "parts": len(receipt.parts)}


def upload_oss2(job: Job) -> dict[str, Any]:
    import oss2  # type: ignore[import-untyped]

    auth = oss2.AuthV4(job.access_key_id, job.access_key_secret)
    bucket = oss2.Bucket(auth, job.endpoint, job.bucket, region=job.region, enable_crc=True)
    store = oss2.ResumableStore(root=job.work_dir, dir="oss2-store")
    with clock() as took:
        result = oss2.resumable_upload(
            bucket,
            job.key,
            job.path,
            store=store,
            multipart_threshold=job.part_size,
            part_size=job.part_size,
            num_threads=job.workers,
        )
    if result.status != 200:
        raise RuntimeError(f"oss2 upload answered {result.status}")
    return took.as_dict()


def upload_v2(job: Job) -> dict[str, Any]:
    import alibabacloud_oss_v2 as oss  # type: ignore[import-untyped]

    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        job.access_key_id, job.access_key_secret
    )
    cfg.region = job.region
    cfg.endpoint = job.endpoint
    if cfg.disable_upload_crc64_check:
        raise RuntimeError("alibabacloud_oss_v2 has its CRC-64 check off")
    client = oss.Client(cfg)
    uploader = client.uploader(part_size=job.part_size, parallel_num=job.workers)
    request = oss.PutObjectRequest(bucket=job.bucket, key=job.key)
    with clock() as took:
        result = uploader.upload_file(request, job.path)
    if result.status_code != 200:
        raise RuntimeError(f"alibabacloud_oss_v2 upload answered {result.status_code}")
    return took.as_dict()


UPLOADERS = {"ossnb": upload_ossnb, "oss2": upload_oss2, "oss-v2": upload_v2}


def main(argv: list[str]) -> dict[str, Any]:
    job = Job.from_json(argv[0])
    result = UPLOADERS[job.contender](job)
    return {"contender": job.contender, "bytes": job.size, **result}


if __name__ == "__main__":
    run_main(main)
