"""``connect`` (real OSS or the embedded emulator), ``upload_session`` and ``oss://`` URLs."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ServerHandle
from session_fixtures import PART, make_file, sdk_read, sdk_read_at

from ossnb.client.client import Client
from ossnb.connect import (
    EmbeddedClient,
    OssUrl,
    connect,
    embedded_emulator,
    parse_oss_url,
    stop_embedded,
    upload_session,
)
from ossnb.emulator import DEV_ACCESS_KEY_SECRET
from ossnb.protocol.errors import UsageError
from ossnb.protocol.operations import PutBucket
from ossnb.protocol.signing import Credentials


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OSS_ENDPOINT",
        "OSS_REGION",
        "OSS_ACCESS_KEY_ID",
        "OSS_ACCESS_KEY_SECRET",
        "OSS_SESSION_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def data_dir(tmp_path: Path, no_env: None) -> Iterator[Path]:
    path = tmp_path / "emulator"
    yield path
    stop_embedded(path)


def test_no_endpoint_means_the_embedded_emulator_reused_per_data_dir(data_dir: Path) -> None:
    first = connect(data_dir=data_dir)
    second = connect(data_dir=data_dir)
    assert isinstance(first, EmbeddedClient) and isinstance(second, EmbeddedClient)
    assert first.emulator is second.emulator is embedded_emulator(data_dir)
    assert first.endpoint.url.startswith("http://127.0.0.1:")
    assert first.identity == f"embedded:{data_dir.resolve()}"
    assert DEV_ACCESS_KEY_SECRET not in repr(first)
    first.execute(PutBucket("embedded-ok"))


def test_an_upload_resumes_after_the_emulator_restarts_on_another_port(
    data_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "restart.bin"
    data = make_file(path, 5 * PART + 3, seed=11)
    before = upload_session(path, "oss://restart/k.bin", data_dir=data_dir, part_size=PART)
    upload_id = before.initiate()
    before.upload_part(1)
    before.upload_part(2)
    port = embedded_emulator(data_dir).port
    stop_embedded(data_dir)  # a kernel restart: the emulator goes, its data stays

    # the old port taken meanwhile (else the new emulator may be given it again, by chance)
    with socket.create_server(("127.0.0.1", port)):
        after = upload_session(path, "oss://restart/k.bin", data_dir=data_dir)
    assert embedded_emulator(data_dir).port != port
    assert after.upload_id == upload_id and after.endpoint == before.endpoint
    after.start()
    receipt = after.wait(30)
    assert [p.number for p in receipt.parts if p.reused] == [1, 2]
    assert sdk_read_at(embedded_emulator(data_dir).endpoint, "restart", "k.bin") == data


def test_an_endpoint_needs_credentials(no_env: None) -> None:
    with pytest.raises(UsageError, match="OSS_ACCESS_KEY_ID"):
        connect("https://oss-cn-hangzhou.aliyuncs.com")


def test_endpoint_and_keys_from_the_environment(
    server: ServerHandle, work_dir: Path, monkeypatch: pytest.MonkeyPatch, no_env: None
) -> None:
    monkeypatch.setenv("OSS_ENDPOINT", server.endpoint)
    monkeypatch.setenv("OSS_REGION", server.region)
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", server.access_key_id)
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", server.access_key_secret)
    client = connect()
    assert type(client) is Client and client.region == server.region
    client.execute(PutBucket("from-env"))
    path = work_dir / "env.bin"
    data = make_file(path, 2 * PART, seed=12)
    session = upload_session(path, "oss://from-env/env.bin", part_size=PART)
    session.start()
    assert session.wait(30).verified
    assert session.endpoint == server.endpoint
    assert sdk_read(server, "from-env", "env.bin") == data
    explicit = connect(
        server.endpoint,
        region=server.region,
        credentials=Credentials(server.access_key_id, server.access_key_secret),
        signature_version=1,
    )
    assert explicit.signature_version == 1
    explicit.execute(PutBucket("from-env"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("oss://bkt/a/b.txt", OssUrl("bkt", "a/b.txt")),
        ("oss://bkt", OssUrl("bkt", "")),
        ("oss://bkt/", OssUrl("bkt", "")),
        ("oss://bkt/dir/", OssUrl("bkt", "dir/")),
    ],
)
def test_parse_oss_urls(url: str, expected: OssUrl) -> None:
    assert parse_oss_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://bkt/k", "expected oss://BUCKET/KEY"),
        ("bkt/k", "expected oss://BUCKET/KEY"),
        ("oss://Bad_Bucket/k", "invalid bucket name"),
        ("oss://bkt", "names no object"),
        ("oss://bkt/", "names no object"),
    ],
)
def test_bad_oss_urls(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_oss_url(url, need_key=True)
