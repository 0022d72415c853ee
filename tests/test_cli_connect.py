"""How the command line finds its server: ``--endpoint``/``--region`` beside ``OSS_*``,
and what it says when the endpoint is wrong or silent. Real ``ossnb`` subprocesses."""

from __future__ import annotations

from pathlib import Path

from conftest import ServerHandle
from session_fixtures import cli_errors, make_client, make_file, run_cli, sdk_read, subprocess_env

from ossnb.protocol.operations import PutBucket


def _keys(server: ServerHandle) -> dict[str, str]:
    env = subprocess_env()
    env.update(
        OSS_ACCESS_KEY_ID=server.access_key_id, OSS_ACCESS_KEY_SECRET=server.access_key_secret
    )
    return env


def test_endpoint_flag_takes_the_region_from_oss_region(
    server: ServerHandle, work_dir: Path, bucket_name: str
) -> None:
    make_client(server).execute(PutBucket(bucket_name))
    data = make_file(work_dir / "f.bin", 1000, seed=31)
    env = dict(_keys(server), OSS_REGION=server.region)  # no OSS_ENDPOINT
    url = f"oss://{bucket_name}/f.bin"
    flags = ("--endpoint", server.endpoint, "--no-checkpoint")
    result = run_cli("upload", str(work_dir / "f.bin"), url, *flags, env=env)
    assert result.returncode == 0, result.stderr
    assert sdk_read(server, bucket_name, "f.bin") == data


def test_a_missing_region_names_the_flag(server: ServerHandle, work_dir: Path) -> None:
    make_file(work_dir / "f.bin", 1000, seed=32)
    result = run_cli(
        "upload",
        str(work_dir / "f.bin"),
        "oss://demo/f.bin",
        "--endpoint",
        server.endpoint,
        env=_keys(server),
    )
    assert result.returncode == 2
    (line,) = cli_errors(result.stderr)
    assert "--region" in line and "OSS_REGION" in line and "region=" not in line


def test_which_region_goes_with_which_endpoint() -> None:
    from ossnb.client.config import settings_from_env
    from ossnb.connect import settings_region

    env = {"OSS_ENDPOINT": "https://oss-cn-hangzhou.aliyuncs.com", "OSS_REGION": "cn-shanghai"}
    settings = settings_from_env(env)
    assert settings_region("https://oss-cn-hangzhou.aliyuncs.com", settings) == "cn-shanghai"
    assert settings_region("https://oss-cn-beijing.aliyuncs.com", settings) == "cn-beijing"
    assert settings_region("http://127.0.0.1:9000", settings) == "cn-shanghai"
    assert settings_region("http://127.0.0.1:9000", settings_from_env({})) is None


def test_flags_are_checked_with_messages_that_name_them(
    server: ServerHandle, work_dir: Path
) -> None:
    make_file(work_dir / "f.bin", 1000, seed=33)
    env = dict(_keys(server), OSS_ENDPOINT=server.endpoint, OSS_REGION=server.region)
    for flag, value, message in (
        ("--workers", "0", "--workers: must be at least 1, not 0"),
        ("--part-size", "0", "--part-size: must be more than 0 bytes"),
    ):
        result = run_cli(
            "upload", str(work_dir / "f.bin"), "oss://demo/f.bin", flag, value, env=env
        )
        assert result.returncode == 2, result.stdout
        assert message in result.stderr, result.stderr
        assert "part_attempts" not in result.stderr and "completed" not in result.stdout
    demo = run_cli("demo", "--workers", "0", env=env, cwd=work_dir)
    assert demo.returncode == 2 and "--workers: must be at least 1" in demo.stderr


def test_url_and_bucket_errors_say_what_is_expected(server: ServerHandle) -> None:
    env = dict(_keys(server), OSS_ENDPOINT=server.endpoint, OSS_REGION=server.region)
    for args, message in (
        (("uploads", "list", "demo"), "expected oss://BUCKET[/PREFIX], got 'demo'"),
        (("parts", "demo/k", "--upload-id", "x"), "expected oss://BUCKET/KEY, got 'demo/k'"),
        (("uploads", "list", "oss://ab"), "invalid bucket name 'ab' (2 characters): use 3-63"),
        (("uploads", "list", "oss:///k"), "'oss:///k' names no bucket"),
    ):
        result = run_cli(*args, env=env)
        assert result.returncode == 2
        (line,) = cli_errors(result.stderr)
        assert message in line, line


def test_a_refused_connection_says_nothing_answers(work_dir: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(subprocess_env(), OSS_ACCESS_KEY_ID="id", OSS_ACCESS_KEY_SECRET="secret")
    endpoint = f"http://127.0.0.1:{port}"
    result = run_cli(
        "uploads", "list", "oss://demo", "--endpoint", endpoint, "--region", "cn-hangzhou", env=env
    )
    assert result.returncode == 1
    (line,) = cli_errors(result.stderr)
    assert f"nothing answers at {endpoint}" in line and "after 4 attempts" in line
    assert "--endpoint" in line and "OSS_ENDPOINT" in line
