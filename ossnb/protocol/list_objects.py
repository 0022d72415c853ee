"""ListObjectsV2 (docs/PROTOCOL.md §2.7): one page of a bucket listing. Import it from
``operations``."""

from __future__ import annotations

from typing import ClassVar

from ._opbase import Doc, Operation, md5_header, validate_bucket_name, validate_page_size
from .http import Request, Response
from .models import ListObjectsResult, ObjectSummary

__all__ = ["ListObjectsV2"]


class ListObjectsV2(Operation[ListObjectsResult], frozen=True):
    """One page of a bucket listing (docs/PROTOCOL.md §2.7): ``GET /B/?list-type=2&encoding-type=url``."""

    name: ClassVar[str] = "ListObjectsV2"
    bucket: str
    prefix: str = ""
    delimiter: str = ""
    start_after: str = ""
    continuation_token: str = ""
    max_keys: int | None = None
    fetch_owner: bool = False

    def __post_init__(self) -> None:
        validate_bucket_name(self.bucket)
        validate_page_size("max_keys", self.max_keys)

    def to_request(self) -> Request:
        query: list[tuple[str, str]] = [("list-type", "2"), ("encoding-type", "url")]
        for name, value in (
            ("prefix", self.prefix),
            ("delimiter", self.delimiter),
            ("start-after", self.start_after),
            ("continuation-token", self.continuation_token),
        ):
            if value:
                query.append((name, value))
        if self.max_keys is not None:
            query.append(("max-keys", str(self.max_keys)))
        if self.fetch_owner:
            query.append(("fetch-owner", "true"))
        headers = {"content-type": "application/octet-stream", **md5_header()}
        return Request("GET", self.bucket, query=tuple(query), headers=headers)

    def parse(self, response: Response) -> ListObjectsResult:
        doc = Doc.load(response.body, "ListBucketResult", self.name)
        objects = [
            ObjectSummary(
                key=c.name("Key"),
                size=c.integer("Size"),
                etag=c.req("ETag"),
                last_modified=c.timestamp("LastModified"),
                object_type=c.req("Type"),
                storage_class=c.req("StorageClass"),
            )
            for c in doc.children("Contents")
        ]
        prefixes = doc.prefixes()
        truncated = doc.boolean("IsTruncated")
        token = (
            doc.name("NextContinuationToken")
            if truncated
            else doc.name("NextContinuationToken", "")
        )
        key_count = doc.opt_integer("KeyCount")
        return ListObjectsResult(
            objects=objects,
            common_prefixes=prefixes,
            is_truncated=truncated,
            next_continuation_token=token,
            key_count=len(objects) + len(prefixes) if key_count is None else key_count,
            name=doc.opt("Name") or self.bucket,
            prefix=doc.name("Prefix", ""),
            delimiter=doc.name("Delimiter", ""),
            start_after=doc.name("StartAfter", ""),
            continuation_token=doc.name("ContinuationToken", ""),
            max_keys=doc.opt_integer("MaxKeys"),
        )
