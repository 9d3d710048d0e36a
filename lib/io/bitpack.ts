// Fixed-width bit packing of non-negative integer arrays into Int32Arrays (little-endian bit
// order: value i occupies bits [i*bits, (i+1)*bits) of the packed stream). Used to store the
// n-gram tables of a checkpoint compactly (safetensors holds F32 and I32 only).

/** Bits needed for the largest value of `a` (at least 1); throws on a negative value. */
export function bitsFor(a: Int32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (v < 0) throw new RangeError(`bitsFor: value ${v} at index ${i} is negative`);
    if (v > max) max = v;
  }
  return Math.max(1, 32 - Math.clz32(max));
}

/** `a` packed `bits` bits per value (1..31) into ceil(n * bits / 32) int32 words. */
export function packBits(a: Int32Array, bits: number): Int32Array {
  if (!Number.isInteger(bits) || bits < 1 || bits > 31) throw new RangeError(`packBits: bits must be in [1, 31], got ${bits}`);
  const out = new Uint32Array(Math.ceil((a.length * bits) / 32));
  const limit = 2 ** bits;
  for (let i = 0, pos = 0; i < a.length; i++, pos += bits) {
    const v = a[i]!;
    if (v < 0 || v >= limit) throw new RangeError(`packBits: value ${v} at index ${i} does not fit in ${bits} bits`);
    const w = pos >>> 5;
    const off = pos & 31;
    out[w]! |= v << off;
    if (off + bits > 32) out[w + 1]! |= v >>> (32 - off);
  }
  return new Int32Array(out.buffer);
}

/** The `n` values of `packBits(a, bits)`; throws when `packed` is too short. */
export function unpackBits(packed: Int32Array, n: number, bits: number): Int32Array {
  if (!Number.isInteger(bits) || bits < 1 || bits > 31) throw new RangeError(`unpackBits: bits must be in [1, 31], got ${bits}`);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`unpackBits: n must be an integer >= 0, got ${n}`);
  if (packed.length !== Math.ceil((n * bits) / 32)) {
    throw new RangeError(`unpackBits: ${n} values of ${bits} bits need ${Math.ceil((n * bits) / 32)} words, got ${packed.length}`);
  }
  const src = new Uint32Array(packed.buffer, packed.byteOffset, packed.length);
  const out = new Int32Array(n);
  const mask = 2 ** bits - 1;
  for (let i = 0, pos = 0; i < n; i++, pos += bits) {
    const w = pos >>> 5;
    const off = pos & 31;
    let v = src[w]! >>> off;
    if (off + bits > 32) v |= src[w + 1]! << (32 - off);
    out[i] = v & mask;
  }
  return out;
}
