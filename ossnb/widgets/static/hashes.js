// MD5 (RFC 1321) and CRC-64/XZ (the x-oss-hash-crc64ecma of OSS), incremental, for the
// browser: a part's Content-MD5 and CRC-64 are computed in the page from the bytes it
// sends. Written for ossnb; tested in Chromium against Python's hashlib and ossnb's CRC-64.

// -- MD5 ---------------------------------------------------------------------------
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// The 64 steps unrolled, with MD5's constants K[i] = floor(|sin(i + 1)| * 2**32) written
// out: the loop form ran at a third of this speed in V8.
function md5Blocks(state, bytes, offset, count) {
  // count 64-byte blocks of bytes from offset; words read little-endian
  const aligned = LITTLE && (bytes.byteOffset + offset) % 4 === 0;
  const m = aligned
    ? new Int32Array(bytes.buffer, bytes.byteOffset + offset, count * 16)
    : new Int32Array(count * 16);
  if (!aligned) {
    for (let j = 0; j < count * 16; j++) {
      const p = offset + j * 4;
      m[j] = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24);
    }
  }
  let a0 = state[0], b0 = state[1], c0 = state[2], d0 = state[3];
  for (let o = 0; o < count * 16; o += 16) {
    let a = a0, b = b0, c = c0, d = d0, x = 0;
    x = (a + ((b & c) | (~b & d)) + 0xd76aa478 + m[o + 0]) | 0; a = (b + ((x << 7) | (x >>> 25))) | 0;
    x = (d + ((a & b) | (~a & c)) + 0xe8c7b756 + m[o + 1]) | 0; d = (a + ((x << 12) | (x >>> 20))) | 0;
    x = (c + ((d & a) | (~d & b)) + 0x242070db + m[o + 2]) | 0; c = (d + ((x << 17) | (x >>> 15))) | 0;
    x = (b + ((c & d) | (~c & a)) + 0xc1bdceee + m[o + 3]) | 0; b = (c + ((x << 22) | (x >>> 10))) | 0;
    x = (a + ((b & c) | (~b & d)) + 0xf57c0faf + m[o + 4]) | 0; a = (b + ((x << 7) | (x >>> 25))) | 0;
    x = (d + ((a & b) | (~a & c)) + 0x4787c62a + m[o + 5]) | 0; d = (a + ((x << 12) | (x >>> 20))) | 0;
    x = (c + ((d & a) | (~d & b)) + 0xa8304613 + m[o + 6]) | 0; c = (d + ((x << 17) | (x >>> 15))) | 0;
    x = (b + ((c & d) | (~c & a)) + 0xfd469501 + m[o + 7]) | 0; b = (c + ((x << 22) | (x >>> 10))) | 0;
    x = (a + ((b & c) | (~b & d)) + 0x698098d8 + m[o + 8]) | 0; a = (b + ((x << 7) | (x >>> 25))) | 0;
    x = (d + ((a & b) | (~a & c)) + 0x8b44f7af + m[o + 9]) | 0; d = (a + ((x << 12) | (x >>> 20))) | 0;
    x = (c + ((d & a) | (~d & b)) + 0xffff5bb1 + m[o + 10]) | 0; c = (d + ((x << 17) | (x >>> 15))) | 0;
    x = (b + ((c & d) | (~c & a)) + 0x895cd7be + m[o + 11]) | 0; b = (c + ((x << 22) | (x >>> 10))) | 0;
    x = (a + ((b & c) | (~b & d)) + 0x6b901122 + m[o + 12]) | 0; a = (b + ((x << 7) | (x >>> 25))) | 0;
    x = (d + ((a & b) | (~a & c)) + 0xfd987193 + m[o + 13]) | 0; d = (a + ((x << 12) | (x >>> 20))) | 0;
    x = (c + ((d & a) | (~d & b)) + 0xa679438e + m[o + 14]) | 0; c = (d + ((x << 17) | (x >>> 15))) | 0;
    x = (b + ((c & d) | (~c & a)) + 0x49b40821 + m[o + 15]) | 0; b = (c + ((x << 22) | (x >>> 10))) | 0;
    x = (a + ((d & b) | (~d & c)) + 0xf61e2562 + m[o + 1]) | 0; a = (b + ((x << 5) | (x >>> 27))) | 0;
    x = (d + ((c & a) | (~c & b)) + 0xc040b340 + m[o + 6]) | 0; d = (a + ((x << 9) | (x >>> 23))) | 0;
    x = (c + ((b & d) | (~b & a)) + 0x265e5a51 + m[o + 11]) | 0; c = (d + ((x << 14) | (x >>> 18))) | 0;
    x = (b + ((a & c) | (~a & d)) + 0xe9b6c7aa + m[o + 0]) | 0; b = (c + ((x << 20) | (x >>> 12))) | 0;
    x = (a + ((d & b) | (~d & c)) + 0xd62f105d + m[o + 5]) | 0; a = (b + ((x << 5) | (x >>> 27))) | 0;
    x = (d + ((c & a) | (~c & b)) + 0x02441453 + m[o + 10]) | 0; d = (a + ((x << 9) | (x >>> 23))) | 0;
    x = (c + ((b & d) | (~b & a)) + 0xd8a1e681 + m[o + 15]) | 0; c = (d + ((x << 14) | (x >>> 18))) | 0;
    x = (b + ((a & c) | (~a & d)) + 0xe7d3fbc8 + m[o + 4]) | 0; b = (c + ((x << 20) | (x >>> 12))) | 0;
    x = (a + ((d & b) | (~d & c)) + 0x21e1cde6 + m[o + 9]) | 0; a = (b + ((x << 5) | (x >>> 27))) | 0;
    x = (d + ((c & a) | (~c & b)) + 0xc33707d6 + m[o + 14]) | 0; d = (a + ((x << 9) | (x >>> 23))) | 0;
    x = (c + ((b & d) | (~b & a)) + 0xf4d50d87 + m[o + 3]) | 0; c = (d + ((x << 14) | (x >>> 18))) | 0;
    x = (b + ((a & c) | (~a & d)) + 0x455a14ed + m[o + 8]) | 0; b = (c + ((x << 20) | (x >>> 12))) | 0;
    x = (a + ((d & b) | (~d & c)) + 0xa9e3e905 + m[o + 13]) | 0; a = (b + ((x << 5) | (x >>> 27))) | 0;
    x = (d + ((c & a) | (~c & b)) + 0xfcefa3f8 + m[o + 2]) | 0; d = (a + ((x << 9) | (x >>> 23))) | 0;
    x = (c + ((b & d) | (~b & a)) + 0x676f02d9 + m[o + 7]) | 0; c = (d + ((x << 14) | (x >>> 18))) | 0;
    x = (b + ((a & c) | (~a & d)) + 0x8d2a4c8a + m[o + 12]) | 0; b = (c + ((x << 20) | (x >>> 12))) | 0;
    x = (a + (b ^ c ^ d) + 0xfffa3942 + m[o + 5]) | 0; a = (b + ((x << 4) | (x >>> 28))) | 0;
    x = (d + (a ^ b ^ c) + 0x8771f681 + m[o + 8]) | 0; d = (a + ((x << 11) | (x >>> 21))) | 0;
    x = (c + (d ^ a ^ b) + 0x6d9d6122 + m[o + 11]) | 0; c = (d + ((x << 16) | (x >>> 16))) | 0;
    x = (b + (c ^ d ^ a) + 0xfde5380c + m[o + 14]) | 0; b = (c + ((x << 23) | (x >>> 9))) | 0;
    x = (a + (b ^ c ^ d) + 0xa4beea44 + m[o + 1]) | 0; a = (b + ((x << 4) | (x >>> 28))) | 0;
    x = (d + (a ^ b ^ c) + 0x4bdecfa9 + m[o + 4]) | 0; d = (a + ((x << 11) | (x >>> 21))) | 0;
    x = (c + (d ^ a ^ b) + 0xf6bb4b60 + m[o + 7]) | 0; c = (d + ((x << 16) | (x >>> 16))) | 0;
    x = (b + (c ^ d ^ a) + 0xbebfbc70 + m[o + 10]) | 0; b = (c + ((x << 23) | (x >>> 9))) | 0;
    x = (a + (b ^ c ^ d) + 0x289b7ec6 + m[o + 13]) | 0; a = (b + ((x << 4) | (x >>> 28))) | 0;
    x = (d + (a ^ b ^ c) + 0xeaa127fa + m[o + 0]) | 0; d = (a + ((x << 11) | (x >>> 21))) | 0;
    x = (c + (d ^ a ^ b) + 0xd4ef3085 + m[o + 3]) | 0; c = (d + ((x << 16) | (x >>> 16))) | 0;
    x = (b + (c ^ d ^ a) + 0x04881d05 + m[o + 6]) | 0; b = (c + ((x << 23) | (x >>> 9))) | 0;
    x = (a + (b ^ c ^ d) + 0xd9d4d039 + m[o + 9]) | 0; a = (b + ((x << 4) | (x >>> 28))) | 0;
    x = (d + (a ^ b ^ c) + 0xe6db99e5 + m[o + 12]) | 0; d = (a + ((x << 11) | (x >>> 21))) | 0;
    x = (c + (d ^ a ^ b) + 0x1fa27cf8 + m[o + 15]) | 0; c = (d + ((x << 16) | (x >>> 16))) | 0;
    x = (b + (c ^ d ^ a) + 0xc4ac5665 + m[o + 2]) | 0; b = (c + ((x << 23) | (x >>> 9))) | 0;
    x = (a + (c ^ (b | ~d)) + 0xf4292244 + m[o + 0]) | 0; a = (b + ((x << 6) | (x >>> 26))) | 0;
    x = (d + (b ^ (a | ~c)) + 0x432aff97 + m[o + 7]) | 0; d = (a + ((x << 10) | (x >>> 22))) | 0;
    x = (c + (a ^ (d | ~b)) + 0xab9423a7 + m[o + 14]) | 0; c = (d + ((x << 15) | (x >>> 17))) | 0;
    x = (b + (d ^ (c | ~a)) + 0xfc93a039 + m[o + 5]) | 0; b = (c + ((x << 21) | (x >>> 11))) | 0;
    x = (a + (c ^ (b | ~d)) + 0x655b59c3 + m[o + 12]) | 0; a = (b + ((x << 6) | (x >>> 26))) | 0;
    x = (d + (b ^ (a | ~c)) + 0x8f0ccc92 + m[o + 3]) | 0; d = (a + ((x << 10) | (x >>> 22))) | 0;
    x = (c + (a ^ (d | ~b)) + 0xffeff47d + m[o + 10]) | 0; c = (d + ((x << 15) | (x >>> 17))) | 0;
    x = (b + (d ^ (c | ~a)) + 0x85845dd1 + m[o + 1]) | 0; b = (c + ((x << 21) | (x >>> 11))) | 0;
    x = (a + (c ^ (b | ~d)) + 0x6fa87e4f + m[o + 8]) | 0; a = (b + ((x << 6) | (x >>> 26))) | 0;
    x = (d + (b ^ (a | ~c)) + 0xfe2ce6e0 + m[o + 15]) | 0; d = (a + ((x << 10) | (x >>> 22))) | 0;
    x = (c + (a ^ (d | ~b)) + 0xa3014314 + m[o + 6]) | 0; c = (d + ((x << 15) | (x >>> 17))) | 0;
    x = (b + (d ^ (c | ~a)) + 0x4e0811a1 + m[o + 13]) | 0; b = (c + ((x << 21) | (x >>> 11))) | 0;
    x = (a + (c ^ (b | ~d)) + 0xf7537e82 + m[o + 4]) | 0; a = (b + ((x << 6) | (x >>> 26))) | 0;
    x = (d + (b ^ (a | ~c)) + 0xbd3af235 + m[o + 11]) | 0; d = (a + ((x << 10) | (x >>> 22))) | 0;
    x = (c + (a ^ (d | ~b)) + 0x2ad7d2bb + m[o + 2]) | 0; c = (d + ((x << 15) | (x >>> 17))) | 0;
    x = (b + (d ^ (c | ~a)) + 0xeb86d391 + m[o + 9]) | 0; b = (c + ((x << 21) | (x >>> 11))) | 0;
    a0 = (a0 + a) | 0; b0 = (b0 + b) | 0; c0 = (c0 + c) | 0; d0 = (d0 + d) | 0;
  }
  state[0] = a0; state[1] = b0; state[2] = c0; state[3] = d0;
}

export class MD5 {
  constructor() {
    this.state = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476]);
    this.pending = new Uint8Array(64);
    this.held = 0;
    this.length = 0; // bytes, as a float: exact up to 2**53
  }

  update(bytes) {
    let offset = 0;
    this.length += bytes.length;
    if (this.held) {
      const take = Math.min(64 - this.held, bytes.length);
      this.pending.set(bytes.subarray(0, take), this.held);
      this.held += take;
      offset = take;
      if (this.held < 64) return this;
      md5Blocks(this.state, this.pending, 0, 1);
      this.held = 0;
    }
    const blocks = (bytes.length - offset) >> 6;
    if (blocks) md5Blocks(this.state, bytes, offset, blocks);
    offset += blocks * 64;
    this.pending.set(bytes.subarray(offset), 0);
    this.held = bytes.length - offset;
    return this;
  }

  digest() {
    const bits = this.length * 8;
    const tail = new Uint8Array(this.held < 56 ? 64 : 128);
    tail.set(this.pending.subarray(0, this.held));
    tail[this.held] = 0x80;
    const lo = bits >>> 0, hi = Math.floor(bits / 4294967296) >>> 0;
    for (let i = 0; i < 4; i++) {
      tail[tail.length - 8 + i] = (lo >>> (8 * i)) & 0xff;
      tail[tail.length - 4 + i] = (hi >>> (8 * i)) & 0xff;
    }
    const state = Int32Array.from(this.state);
    md5Blocks(state, tail, 0, tail.length / 64);
    const out = new Uint8Array(16);
    for (let i = 0; i < 16; i++) out[i] = (state[i >> 2] >>> (8 * (i & 3))) & 0xff;
    return out;
  }
}

// -- CRC-64/XZ: reflected polynomial 0xC96C5795D7870F42, init and xorout all ones ----
const POLY_HI = 0xc96c5795, POLY_LO = 0xd7870f42;
// Slicing-by-8: TH[k * 256 + i], TL[...] are the high and low words of the CRC of byte i
// followed by k zero bytes, so eight bytes are folded with eight look-ups.
const TH = new Uint32Array(8 * 256), TL = new Uint32Array(8 * 256);
for (let i = 0; i < 256; i++) {
  let hi = 0, lo = i;
  for (let k = 0; k < 8; k++) {
    const lsb = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (lsb) { lo = (lo ^ POLY_LO) >>> 0; hi = (hi ^ POLY_HI) >>> 0; }
  }
  TH[i] = hi; TL[i] = lo;
}
for (let k = 1; k < 8; k++) {
  for (let i = 0; i < 256; i++) {
    const hi = TH[(k - 1) * 256 + i], lo = TL[(k - 1) * 256 + i], t = lo & 0xff;
    TL[k * 256 + i] = (((lo >>> 8) | (hi << 24)) ^ TL[t]) >>> 0;
    TH[k * 256 + i] = ((hi >>> 8) ^ TH[t]) >>> 0;
  }
}

export class CRC64 {
  constructor() { this.hi = 0xffffffff; this.lo = 0xffffffff; }

  update(bytes) {
    let hi = this.hi, lo = this.lo, i = 0;
    const n = bytes.length, fast = n - (n % 8);
    for (; i < fast; i += 8) {
      lo ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
      hi ^= bytes[i + 4] | (bytes[i + 5] << 8) | (bytes[i + 6] << 16) | (bytes[i + 7] << 24);
      const a = 7 * 256 + (lo & 0xff), b = 6 * 256 + ((lo >>> 8) & 0xff);
      const c = 5 * 256 + ((lo >>> 16) & 0xff), d = 4 * 256 + (lo >>> 24);
      const e = 3 * 256 + (hi & 0xff), f = 2 * 256 + ((hi >>> 8) & 0xff);
      const g = 256 + ((hi >>> 16) & 0xff), h = hi >>> 24;
      lo = TL[a] ^ TL[b] ^ TL[c] ^ TL[d] ^ TL[e] ^ TL[f] ^ TL[g] ^ TL[h];
      hi = TH[a] ^ TH[b] ^ TH[c] ^ TH[d] ^ TH[e] ^ TH[f] ^ TH[g] ^ TH[h];
    }
    for (; i < n; i++) {
      const t = (lo ^ bytes[i]) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ TL[t];
      hi = (hi >>> 8) ^ TH[t];
    }
    this.hi = hi >>> 0; this.lo = lo >>> 0;
    return this;
  }

  /** The unsigned decimal string OSS puts in x-oss-hash-crc64ecma. */
  decimal() {
    const hi = (~this.hi) >>> 0, lo = (~this.lo) >>> 0;
    return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
  }
}

// -- helpers ------------------------------------------------------------------------
export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function base64(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

/** MD5 (hex and base64) and CRC-64 of a Blob, read a chunk at a time into one reused
 * buffer (a BYOB reader: no garbage per chunk), yielding between chunks. */
export async function hashBlob(blob, chunk = 1 << 20) {
  const md5 = new MD5(), crc = new CRC64();
  let reader = null;
  try {
    reader = blob.stream().getReader({ mode: "byob" });
  } catch (_) {
    reader = null; // no BYOB reads here: slices
  }
  if (reader) {
    let buffer = new ArrayBuffer(chunk);
    for (;;) {
      const { value, done } = await reader.read(new Uint8Array(buffer, 0, chunk));
      if (done) break;
      md5.update(value);
      crc.update(value);
      buffer = value.buffer; // the same memory, handed back for the next read
    }
  } else {
    for (let at = 0; at < blob.size; at += chunk) {
      const bytes = new Uint8Array(await blob.slice(at, at + chunk).arrayBuffer());
      md5.update(bytes);
      crc.update(bytes);
    }
  }
  const digest = md5.digest();
  return { md5: hex(digest), md5_b64: base64(digest), crc64: crc.decimal(), size: blob.size };
}
