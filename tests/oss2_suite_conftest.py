"""Environment shims for the official oss2 test suite run against the emulator.

Copied as ``conftest.py`` into the extracted ``tests/`` folder of the oss2 sdist
(see ``tests/oss2_suite.py``). Each shim adapts the environment only; no oss2 test
is edited, and no shim turns a failing request into a passing one.
"""

from __future__ import annotations

import importlib
import logging
import sys
import unittest.mock
from collections.abc import Iterator
from typing import Any

# Shim 1: test_upload.py imports the third-party ``mock`` backport; the standard
# library's ``unittest.mock`` is the same API, so no extra dependency is installed.
sys.modules.setdefault("mock", unittest.mock)

# The suite's own helpers (``tests/common.py`` of the sdist, a sibling of this file).
common: Any = importlib.import_module(f"{__package__}.common")

# Shim 2: ``wait_meta_sync`` sleeps 1 s so that real OSS's metadata settles; the
# emulator is strongly consistent. The test modules ``from .common import *`` after
# this conftest is loaded, so they pick up the no-op.
common.wait_meta_sync = lambda: None


def _no_live_channels(bucket: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
    return iter(())


# Shim 3: every test's tearDown lists the bucket's live channels (RTMP) to delete
# them. The emulator has no RTMP and answers ``?live`` with OSS's NotImplemented
# error, which would turn each tearDown into an error; a bucket here never has one.
common.oss2.LiveChannelIterator = _no_live_channels

_original_setup = common.OssTestCase.setUp


def _setup_without_kms(self: Any) -> None:
    _original_setup(self)
    # Shim 4: tests pick a bucket at random among plain, RSA-encrypted and
    # KMS-encrypted. Client-side KMS encryption calls Alibaba Cloud's KMS service,
    # which is not reachable offline; the KMS choice becomes the RSA one (also
    # client-side encryption, all local), so the choice stays among real paths.
    self.kms_crypto_bucket = self.rsa_crypto_bucket


common.OssTestCase.setUp = _setup_without_kms

_original_bucket_init = common.oss2.Bucket.__init__


def _bucket_on_test_endpoint(
    self: Any, auth: Any, endpoint: str, *args: Any, **kwargs: Any
) -> None:
    # Shim 5: two tests (the ``sequential`` multipart ones) name a real OSS endpoint,
    # oss-cn-shanghai.aliyuncs.com, instead of OSS_TEST_ENDPOINT; offline there is
    # nothing there, so such endpoints become the endpoint under test.
    if endpoint.rstrip("/").endswith(".aliyuncs.com"):
        endpoint = common.OSS_ENDPOINT
    _original_bucket_init(self, auth, endpoint, *args, **kwargs)


common.oss2.Bucket.__init__ = _bucket_on_test_endpoint

# Shim 6: common.py turns on DEBUG logging for everything; oss2 then formats a log
# record per request, which pytest captures and throws away for passing tests. Only
# warnings and errors are kept (the suite's output is unchanged otherwise).
logging.getLogger().setLevel(logging.WARNING)
