/**
 * Redis Cluster key slots (CRC16/XMODEM of the key's hash tag, mod 16384),
 * computed the way the servers do, so the app can choose hash tags that land
 * on different parts of the slot space (and so, with an even slot split, on
 * different masters).
 */
export const SLOT_COUNT = 16384;

const TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  TABLE[i] = crc;
}

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc;
}

/** The slot of a key: only the text between the first `{` and the next `}` counts, when not empty. */
export function slotOf(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(key)) % SLOT_COUNT;
}

/** Which of `parts` equal parts of the slot space a slot falls in. */
export function partOf(slot: number, parts: number): number {
  return Math.floor((slot * parts) / SLOT_COUNT);
}

/**
 * A hash tag (without braces) whose slot falls in part `part` of `parts`:
 * `base` itself when it does, else `base-<n>` for the first n that does
 * (about `parts` tries). Deterministic, so every process computes the same.
 * `redis-cli --cluster create` splits the slots evenly, so with as many parts
 * as masters each part is one master.
 */
export function tagInPart(base: string, part: number, parts: number): string {
  if (parts <= 1 || partOf(slotOf(`{${base}}`), parts) === part) return base;
  for (let n = 1; ; n++) {
    const tag = `${base}-${n}`;
    if (partOf(slotOf(`{${tag}}`), parts) === part) return tag;
  }
}
