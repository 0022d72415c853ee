"""Checksums OSS uses: MD5 (ETags, Content-MD5) and CRC-64/XZ (``x-oss-hash-crc64ecma``).

CRC-64 comes from ``fastcrc`` (Rust, releases the GIL). Part CRCs combine into the
whole object's CRC without rereading data (docs/PROTOCOL.md §3.4), with zlib's GF(2) method.

An upload checks its parts in one of :data:`CHECKSUM_MODES`: ``"md5"`` (the default, as
the OSS documentation teaches it: Content-MD5 sent, ETag compared with the local MD5,
and CRC-64 compared too) or ``"crc64"`` (no MD5 at all: each part's CRC-64 against the
server's ``x-oss-hash-crc64ecma``, about 1.4 CPU s/GiB less).
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from fastcrc import crc64 as _crc64
from msgspec import Struct

from .errors import UsageError

__all__ = [
    "CHECKSUM_MODES",
    "EMPTY_MD5_B64",
    "Digest",
    "crc64",
    "crc64_combine",
    "crc64_combine_all",
    "digest",
    "md5_b64",
    "md5_hex",
    "multipart_etag",
    "normalize_etag",
    "validate_checksum",
]

EMPTY_MD5_B64 = "1B2M2Y8AsgTpgAmY7PhCfg=="
CHECKSUM_MODES = ("md5", "crc64")
_POLY_REFLECTED = 0xC96C5795D7870F42


def crc64(data: bytes | memoryview, previous: int = 0) -> int:
    """CRC-64/XZ of ``data``; pass the CRC of the bytes before it as ``previous`` to continue."""
    return int(_crc64.xz(data, initial=previous or None))


def md5_hex(data: bytes | memoryview) -> str:
    """Upper-case hex MD5, the form OSS ETags take."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest().upper()


def md5_b64(data: bytes | memoryview) -> str:
    """Base64 MD5, the value of a ``Content-MD5`` header."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")


def validate_checksum(mode: str) -> str:
    """``mode`` if it is one of :data:`CHECKSUM_MODES`, else a :class:`UsageError`."""
    if mode not in CHECKSUM_MODES:
        raise UsageError(
            f"checksum={mode!r} is not a checksum mode: use 'md5' (Content-MD5 and ETag, "
            "the default) or 'crc64' (CRC-64 only, less CPU)"
        )
    return mode


class Digest(Struct, frozen=True):
    """The checksums of one body: size, MD5 (hex and base64; ``None`` when not computed)
    and CRC-64."""

    size: int
    md5_hex: str | None
    md5_b64: str | None
    crc64: int

    @property
    def etag(self) -> str | None:
        """The ETag OSS gives these bytes, with its quotes (``None`` without the MD5)."""
        return None if self.md5_hex is None else f'"{self.md5_hex}"'


def digest(data: bytes | memoryview, *, md5: bool = True) -> Digest:
    """CRC-64 and (unless ``md5=False``) MD5 of ``data`` in one call (both release the GIL)."""
    if not md5:
        return Digest(size=len(data), md5_hex=None, md5_b64=None, crc64=crc64(data))
    raw = hashlib.md5(data, usedforsecurity=False).digest()
    return Digest(
        size=len(data),
        md5_hex=raw.hex().upper(),
        md5_b64=base64.b64encode(raw).decode("ascii"),
        crc64=crc64(data),
    )


def normalize_etag(etag: str) -> str:
    """An ETag without quotes or surrounding space, upper-case (for comparisons)."""
    return etag.strip().strip('"').strip().upper()


def multipart_etag(part_etags: Iterable[str]) -> str:
    """The ETag OSS gives a completed multipart object: MD5 of the concatenated hex part ETags.

    Returns it quoted, ``"<HEX>-<N>"`` (docs/PROTOCOL.md §3.3).
    """
    hexes = [normalize_etag(e) for e in part_etags]
    joined = "".join(hexes).encode("ascii")
    return f'"{md5_hex(joined)}-{len(hexes)}"'


def _multmodp(a: int, b: int) -> int:
    """Multiply two polynomials modulo the CRC polynomial (reflected bit order, as zlib)."""
    m = 1 << 63
    p = 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ _POLY_REFLECTED if b & 1 else b >> 1


def _x2n_table() -> tuple[int, ...]:
    table = [1 << 62]  # x^1
    for _ in range(63):
        table.append(_multmodp(table[-1], table[-1]))
    return tuple(table)


_X2N = _x2n_table()


@lru_cache(maxsize=64)
def _shift_operator(length: int) -> int:
    """x^(8 * length) modulo the polynomial: what appending ``length`` bytes does to a CRC."""
    p = 1 << 63  # x^0
    k = 3
    while length:
        if length & 1:
            p = _multmodp(_X2N[k % 64], p)
        length >>= 1
        k += 1
    return p


def crc64_combine(crc_a: int, crc_b: int, len_b: int) -> int:
    """CRC-64 of ``A + B`` from ``crc(A)``, ``crc(B)`` and ``len(B)``.

    Sizes repeat in a multipart upload, so the shift for each size is computed once.
    """
    if len_b <= 0:
        return crc_a
    return _multmodp(_shift_operator(len_b), crc_a) ^ crc_b


@lru_cache(maxsize=8)
def _shift_tables(length: int) -> tuple[tuple[int, ...], ...]:
    """The shift for ``length`` bytes as eight 256-entry tables, one per byte of a CRC.

    Multiplying is linear in the CRC, so a product is the XOR of eight looked-up
    ones: 64 multiplications to build, then eight look-ups a part instead of one
    bit-by-bit multiplication (thousands of equal parts complete 20 times faster).
    """
    operator = _shift_operator(length)
    tables = []
    for byte in range(8):
        bits = [_multmodp(operator, 1 << (8 * byte + k)) for k in range(8)]
        table = [0] * 256
        for value in range(1, 256):
            low = value & -value
            table[value] = table[value ^ low] ^ bits[low.bit_length() - 1]
        tables.append(tuple(table))
    return tuple(tables)


def _combine_with(tables: tuple[tuple[int, ...], ...], crc_a: int, crc_b: int) -> int:
    t0, t1, t2, t3, t4, t5, t6, t7 = tables
    return (
        t0[crc_a & 0xFF] ^ t1[(crc_a >> 8) & 0xFF] ^ t2[(crc_a >> 16) & 0xFF]
        ^ t3[(crc_a >> 24) & 0xFF] ^ t4[(crc_a >> 32) & 0xFF] ^ t5[(crc_a >> 40) & 0xFF]
        ^ t6[(crc_a >> 48) & 0xFF] ^ t7[crc_a >> 56] ^ crc_b
    )  # fmt: skip


_TABLES_FROM = 64
"""Parts of one size from which building its tables pays."""


def crc64_combine_all(parts: Iterable[tuple[int, int]]) -> int:
    """Combine ``(crc, size)`` pairs, in order, into the CRC-64 of their concatenation."""
    pairs = list(parts)
    counts = Counter(size for _, size in pairs)
    total = 0
    for crc, size in pairs:
        if size > 0 and counts[size] >= _TABLES_FROM:
            total = _combine_with(_shift_tables(size), total, crc)
        else:
            total = crc64_combine(total, crc, size)
    return total
