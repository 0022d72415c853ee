"""``ossnb.client.config``: settings from ``OSS_*`` variables, and the client options they feed.

``settings_from_env`` takes an explicit mapping, so no test touches ``os.environ``
except the one for ``Client.from_env`` (through pytest's ``monkeypatch``).
"""

from __future__ import annotations

import pytest
from conftest import ServerHandle

from ossnb.client.client import Client, Endpoint
from ossnb.client.config import Settings, region_from_endpoint, settings_from_env
from ossnb.protocol.errors import UsageError
from ossnb.protocol.operations import GetBucketInfo, PutBucket
from ossnb.protocol.signing import Credentials

FULL = {
    "OSS_ACCESS_KEY_ID": "LTAI5tExampleId",
    "OSS_ACCESS_KEY_SECRET": "example-secret-value",
    "OSS_SESSION_TOKEN": "STS.example-token",
    "OSS_ENDPOINT": "https://oss-cn-shanghai.aliyuncs.com",
    "OSS_REGION": "cn-shanghai",
}


def test_everything_set() -> None:
    settings = settings_from_env(FULL)
    assert settings.endpoint == "https://oss-cn-shanghai.aliyuncs.com"
    assert settings.region == "cn-shanghai"
    assert settings.credentials == Credentials(
        "LTAI5tExampleId", "example-secret-value", "STS.example-token"
    )
    shown = repr(settings)
    assert "LTAI5tExampleId" in shown
    assert "example-secret-value" not in shown and "STS.example-token" not in shown


def test_nothing_set_means_the_embedded_emulator() -> None:
    assert settings_from_env({}) == Settings(endpoint=None, region=None, credentials=None)
    blank = {name: "  " for name in FULL}
    assert settings_from_env(blank) == Settings()


def test_values_are_trimmed_and_an_empty_token_is_none() -> None:
    settings = settings_from_env(
        {
            "OSS_ACCESS_KEY_ID": " id \n",
            "OSS_ACCESS_KEY_SECRET": "\tsecret ",
            "OSS_SESSION_TOKEN": " ",
            "OSS_ENDPOINT": " http://127.0.0.1:9000 ",
        }
    )
    assert settings.credentials == Credentials("id", "secret", None)
    assert settings.endpoint == "http://127.0.0.1:9000"
    assert settings.region is None  # an IP endpoint says nothing about the region


def test_region_is_derived_from_an_aliyun_endpoint() -> None:
    env = {"OSS_ENDPOINT": "oss-cn-hangzhou.aliyuncs.com"}
    assert settings_from_env(env).region == "cn-hangzhou"
    explicit = {**env, "OSS_REGION": "cn-beijing"}
    assert settings_from_env(explicit).region == "cn-beijing"  # OSS_REGION wins


@pytest.mark.parametrize(
    ("endpoint", "region"),
    [
        ("oss-cn-hangzhou.aliyuncs.com", "cn-hangzhou"),
        ("https://oss-cn-hangzhou.aliyuncs.com", "cn-hangzhou"),
        ("https://oss-cn-hangzhou-internal.aliyuncs.com:443/", "cn-hangzhou"),
        ("HTTPS://OSS-AP-SOUTHEAST-1.ALIYUNCS.COM", "ap-southeast-1"),
        ("oss-us-west-1.aliyuncs.com", "us-west-1"),
        ("oss-cn-shenzhen-finance-1-internal.aliyuncs.com", "cn-shenzhen-finance-1"),
        ("oss-accelerate.aliyuncs.com", None),  # global acceleration: not a region
        ("oss-accelerate-overseas.aliyuncs.com", None),
        ("http://127.0.0.1:9000", None),
        ("http://localhost:9000", None),
        ("https://example.com", None),
        ("https://oss-cn-hangzhou.aliyuncs.com.evil.example", None),
    ],
)
def test_region_from_endpoint(endpoint: str, region: str | None) -> None:
    assert region_from_endpoint(endpoint) == region


@pytest.mark.parametrize(
    ("present", "missing"),
    [
        ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET"),
        ("OSS_ACCESS_KEY_SECRET", "OSS_ACCESS_KEY_ID"),
    ],
)
def test_a_half_set_key_pair_names_the_missing_variable(present: str, missing: str) -> None:
    with pytest.raises(UsageError) as info:
        settings_from_env({present: "value", "OSS_ENDPOINT": "oss-cn-hangzhou.aliyuncs.com"})
    message = str(info.value)
    assert message.startswith(f"{missing} is not set")
    assert "value" not in message
    assert isinstance(info.value, ValueError)


def test_a_token_without_keys_is_refused() -> None:
    with pytest.raises(UsageError, match="OSS_SESSION_TOKEN is set but OSS_ACCESS_KEY_ID"):
        settings_from_env({"OSS_SESSION_TOKEN": "STS.token"})


# ------------------------------------------------------------------ settings -> client


def test_v4_needs_a_region_on_a_non_aliyun_endpoint() -> None:
    with pytest.raises(UsageError) as info:
        Client("http://127.0.0.1:9000", Credentials("id", "secret"))
    message = str(info.value)
    assert "region" in message and "OSS_REGION" in message and "127.0.0.1:9000" in message
    with pytest.raises(UsageError, match="region"):
        Client("oss-accelerate.aliyuncs.com", Credentials("id", "secret"))


def test_region_defaults_from_the_endpoint_and_v1_needs_none() -> None:
    with Client("oss-cn-qingdao.aliyuncs.com", Credentials("id", "secret")) as c:
        assert c.region == "cn-qingdao"
        assert c.endpoint == Endpoint("https", "oss-cn-qingdao.aliyuncs.com", False)
    with Client("http://127.0.0.1:9000", Credentials("id", "s"), signature_version=1) as c:
        assert c.region is None
        assert c.endpoint.path_style


def test_bad_client_options() -> None:
    with pytest.raises(UsageError, match="signature_version must be 1 or 4"):
        Client("http://127.0.0.1:9000", Credentials("id", "s"), region="r", signature_version=2)
    for endpoint in ("ftp://example.com", "http://", ""):
        with pytest.raises(UsageError, match="not an endpoint URL"):
            Client(endpoint, Credentials("id", "s"), region="cn-hangzhou")


def test_client_repr_shows_no_secret() -> None:
    credentials = Credentials("visible-id", "hidden-secret", "hidden-token")
    with Client("http://127.0.0.1:9000", credentials, region="cn-hangzhou") as c:
        for text in (repr(c), str(c)):
            assert "visible-id" in text and "127.0.0.1:9000" in text
            assert "hidden-secret" not in text and "hidden-token" not in text


def test_from_settings_needs_an_endpoint_and_keys() -> None:
    with pytest.raises(UsageError, match="OSS_ENDPOINT"):
        Client.from_settings(Settings())
    with pytest.raises(UsageError, match="OSS_ACCESS_KEY_ID"):
        Client.from_settings(Settings(endpoint="oss-cn-hangzhou.aliyuncs.com"))


def test_from_env_reaches_the_emulator(
    server: ServerHandle, bucket_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", server.access_key_id)
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", server.access_key_secret)
    monkeypatch.delenv("OSS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("OSS_ENDPOINT", server.endpoint)
    monkeypatch.setenv("OSS_REGION", server.region)
    with Client.from_env(signature_version=4) as c:
        assert c.region == server.region
        c.execute(PutBucket(bucket_name))
        assert c.execute(GetBucketInfo(bucket_name)).name == bucket_name
    monkeypatch.delenv("OSS_REGION")
    with pytest.raises(UsageError, match="OSS_REGION"):
        Client.from_env()
    with Client.from_env(signature_version=1) as v1:
        assert v1.execute(GetBucketInfo(bucket_name)).name == bucket_name
