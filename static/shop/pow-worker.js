// Proof-of-work solver of the waiting room's anti-bot challenge (issue 22), run
// in a Web Worker so the page stays responsive during the countdown.
//
// A challenge hides a number n in [0, maxNumber]: find the n whose SHA-256 of
// `salt + n` (n in decimal) is `hash`. Message in: { salt, hash, from, to }
// (this worker scans from..to, inclusive). Messages out: { found: n, tries }
// or { found: null, tries } when its range holds none.
//
// SHA-256 is written out here for one 64-byte block (salt and number under 56
// bytes, as the server issues them): one compression per try and no promise,
// about an order of magnitude faster than crypto.subtle.digest per call on
// such short inputs. The words of the block before the number's first digit
// never change and are packed once.
/* global self */
'use strict';

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const H = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/**
 * Scans n = from..to for the number whose SHA-256(salt + n) is the target
 * (8 big-endian words). Returns { found, tries }.
 */
function scan(salt, target, from, to) {
  const bytes = new Uint8Array(64);
  for (let i = 0; i < salt.length; i++) bytes[i] = salt.charCodeAt(i);
  const w = new Int32Array(64);
  const fixed = salt.length >> 2; // words made of salt bytes only
  for (let i = 0; i < fixed; i++) {
    w[i] = (bytes[4 * i] << 24) | (bytes[4 * i + 1] << 16) | (bytes[4 * i + 2] << 8) | bytes[4 * i + 3];
  }
  // the decimal digits of n, kept as ASCII and incremented in place
  let digits = String(from);
  let len = digits.length;
  const d = new Uint8Array(24);
  for (let i = 0; i < len; i++) d[i] = digits.charCodeAt(i);
  const t0 = target[0] | 0;
  let tries = 0;
  for (let n = from; n <= to; n++) {
    tries++;
    // the block: salt, digits, 0x80, zeros, bit length
    const end = salt.length + len;
    for (let i = 0; i < len; i++) bytes[salt.length + i] = d[i];
    bytes[end] = 0x80;
    for (let i = end + 1; i < 60; i++) bytes[i] = 0;
    const bits = end * 8;
    bytes[60] = 0;
    bytes[61] = 0;
    bytes[62] = bits >>> 8;
    bytes[63] = bits & 255;
    for (let i = fixed; i < 16; i++) {
      w[i] = (bytes[4 * i] << 24) | (bytes[4 * i + 1] << 16) | (bytes[4 * i + 2] << 8) | bytes[4 * i + 3];
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15];
      const y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let a = H[0];
    let b = H[1];
    let c = H[2];
    let e = H[4];
    let f = H[5];
    let g = H[6];
    let h = H[7];
    let dd = H[3];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (h + S1 + ch + K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      h = g;
      g = f;
      f = e;
      e = (dd + t1) | 0;
      dd = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    if (((H[0] + a) | 0) === t0) {
      const out = [a, b, c, dd, e, f, g, h];
      let same = true;
      for (let i = 1; i < 8 && same; i++) same = ((H[i] + out[i]) | 0) === (target[i] | 0);
      if (same) return { found: n, tries };
    }
    // n + 1 in decimal
    let i = len - 1;
    while (i >= 0 && d[i] === 57) d[i--] = 48;
    if (i >= 0) d[i]++;
    else {
      d.copyWithin(1, 0, len);
      d[0] = 49;
      len++;
    }
  }
  return { found: null, tries };
}

/** The 8 big-endian words of a hex SHA-256. */
function words(hex) {
  const out = new Int32Array(8);
  for (let i = 0; i < 8; i++) out[i] = parseInt(hex.slice(8 * i, 8 * i + 8), 16) | 0;
  return out;
}

if (typeof self !== 'undefined' && typeof self.postMessage === 'function') {
  self.onmessage = (event) => {
    const { salt, hash, from, to } = event.data;
    self.postMessage(scan(salt, words(hash), from, to));
  };
}
