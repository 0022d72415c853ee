"""Unfinished uploads: list them with age, parts and bytes; abort one, some, or the old ones
(through the Python API and the ``ossnb uploads`` / ``ossnb parts`` commands)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from conftest import ServerHandle
from session_fixtures import bucket_fixture, client_fixture, run_cli, server_env  # noqa: F401

from ossnb.client.client import Client
from ossnb.emulator import DEV_ACCESS_KEY_SECRET
from ossnb.protocol.errors import NoSuchUpload, UsageError
from ossnb.protocol.operations import InitiateMultipartUpload, ListParts, UploadPart
from ossnb.upload.listing import list_all_parts, list_all_uploads
from ossnb.upload.stale import (
    abort_older_than,
    abort_uploads,
    format_age,
    list_unfinished,
    parse_age,
)

LATER = datetime.now(timezone.utc) + timedelta(hours=2)


def _upload(client: Client, bucket: str, key: str, sizes: list[int]) -> str:
    upload_id = client.execute(InitiateMultipartUpload(bucket, key)).upload_id
    for number, size in enumerate(sizes, 1):
        client.execute(UploadPart(bucket, key, upload_id, number, bytes(size)))
    return upload_id


def _three(client: Client, bucket: str) -> tuple[str, str, str]:
    return (
        _upload(client, bucket, "a/one.bin", [1000, 500]),
        _upload(client, bucket, "a/two.bin", []),
        _upload(client, bucket, "b/three.bin", [7]),
    )


def test_list_every_unfinished_upload_with_age_parts_and_bytes(client: Client, bucket: str) -> None:
    one, two, three = _three(client, bucket)
    found = list_unfinished(client, bucket, now=LATER)
    assert [(u.key, u.upload_id, u.parts, u.size) for u in found] == [
        ("a/one.bin", one, 2, 1500),
        ("a/two.bin", two, 0, 0),
        ("b/three.bin", three, 1, 7),
    ]
    assert all(timedelta(hours=1) < u.age < timedelta(hours=3) for u in found)
    assert found[0].url == f"oss://{bucket}/a/one.bin"
    assert [u.key for u in list_unfinished(client, bucket, "a/")] == ["a/one.bin", "a/two.bin"]


def test_listings_follow_every_page(client: Client, bucket: str) -> None:
    _three(client, bucket)
    assert len(list_all_uploads(client, bucket, page_size=1)) == 3
    upload_id = _upload(client, bucket, "many.bin", [1] * 5)
    pages = list_all_parts(client, bucket, "many.bin", upload_id, page_size=2)
    assert [p.part_number for p in pages] == [1, 2, 3, 4, 5]


def test_abort_a_selection_and_each_is_confirmed(client: Client, bucket: str) -> None:
    one, two, three = _three(client, bucket)
    outcomes = abort_uploads(client, bucket, [("a/one.bin", one), ("b/three.bin", three)])
    assert [(o.upload_id, o.aborted) for o in outcomes] == [(one, True), (three, True)]
    for key, upload_id in (("a/one.bin", one), ("b/three.bin", three)):
        with pytest.raises(NoSuchUpload):
            client.execute(ListParts(bucket, key, upload_id))
    assert [u.upload_id for u in list_unfinished(client, bucket)] == [two]
    again = abort_uploads(client, bucket, [("a/one.bin", one)])
    assert not again[0].aborted, "an upload the server does not know was not aborted"
    assert again[0].error and "NoSuchUpload" in again[0].error
    listed = abort_uploads(client, bucket, [("a/one.bin", one)], missing_ok=True)
    assert listed[0].aborted, "listed, then gone: counts as aborted when the caller says so"


def test_abort_all_older_than_an_age(client: Client, bucket: str) -> None:
    _three(client, bucket)
    assert abort_older_than(client, bucket, timedelta(hours=3), now=LATER) == []
    under_a = abort_older_than(client, bucket, timedelta(hours=1), "a/", now=LATER)
    assert sorted(o.key for o in under_a if o.aborted) == ["a/one.bin", "a/two.bin"]
    rest = abort_older_than(client, bucket, timedelta(0))
    assert [o.key for o in rest] == ["b/three.bin"]
    assert list_unfinished(client, bucket) == []


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("7d", 604800), ("12h", 43200), ("1h30m", 5400), ("90s", 90), ("2w", 1209600), ("0", 0)],
)
def test_parse_age(text: str, seconds: int) -> None:
    assert parse_age(text) == timedelta(seconds=seconds)


def test_bad_ages_and_formatting() -> None:
    for text in ("", "soon", "7x", "1h and 2m"):
        with pytest.raises(UsageError, match="not an age"):
            parse_age(text)
    assert format_age(timedelta(days=3, hours=4, minutes=5)) == "3d 4h"
    assert format_age(timedelta(hours=5, minutes=2)) == "5h 2m"
    assert format_age(timedelta(seconds=42)) == "42s"


def test_the_uploads_and_parts_commands(server: ServerHandle, client: Client, bucket: str) -> None:
    one, two, three = _three(client, bucket)
    env = server_env(server)
    listed = run_cli("uploads", "list", f"oss://{bucket}/a/", env=env)
    assert listed.returncode == 0, listed.stderr
    assert one in listed.stdout and two in listed.stdout and three not in listed.stdout
    assert "2 unfinished upload(s)" in listed.stdout and "1.5 KiB" in listed.stdout

    parts = run_cli("parts", f"oss://{bucket}/a/one.bin", "--upload-id", one, env=env)
    assert parts.returncode == 0, parts.stderr
    assert "2 part(s)" in parts.stdout and '"' in parts.stdout  # ETags with their quotes

    aborted = run_cli("uploads", "abort", f"oss://{bucket}/a/one.bin", "--upload-id", one, env=env)
    assert aborted.returncode == 0 and f"aborted {one}" in aborted.stdout
    old = run_cli("uploads", "abort", f"oss://{bucket}", "--older-than", "0s", env=env)
    assert old.returncode == 0 and two in old.stdout and three in old.stdout
    empty = run_cli("uploads", "list", f"oss://{bucket}", env=env)
    assert "no unfinished uploads" in empty.stdout

    gone = run_cli("parts", f"oss://{bucket}/a/one.bin", "--upload-id", one, env=env)
    assert gone.returncode == 1
    assert gone.stderr.count("\n") == 1 and "NoSuchUpload" in gone.stderr
    bad = run_cli("uploads", "abort", f"oss://{bucket}", env=env)
    assert bad.returncode == 2 and "--upload-id" in bad.stderr
    for result in (listed, parts, aborted, old, empty, gone):
        assert DEV_ACCESS_KEY_SECRET not in result.stdout + result.stderr
