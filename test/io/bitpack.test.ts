import { describe, expect, it } from 'vitest';

import { bitsFor, packBits, unpackBits } from '../../lib/io/bitpack.js';

describe('bit packing', () => {
  it('round-trips every width, across word boundaries', () => {
    for (let bits = 1; bits <= 31; bits++) {
      const max = 2 ** bits - 1;
      const a = Int32Array.from({ length: 97 }, (_, i) => (i === 5 ? max : Math.floor(((i * 2654435761) % 4294967296) / 4294967296 * (max + 1))));
      expect(bitsFor(a)).toBe(bits);
      const p = packBits(a, bits);
      expect(p.length).toBe(Math.ceil((97 * bits) / 32));
      expect(unpackBits(p, 97, bits)).toEqual(a);
    }
  });

  it('rejects values that do not fit, negative values and short input', () => {
    expect(() => packBits(Int32Array.of(4), 2)).toThrow(/does not fit/);
    expect(() => bitsFor(Int32Array.of(-1))).toThrow(/negative/);
    expect(() => unpackBits(new Int32Array(1), 40, 3)).toThrow(/need 4 words/);
    expect(bitsFor(new Int32Array(0))).toBe(1);
    expect(unpackBits(packBits(new Int32Array(0), 3), 0, 3)).toEqual(new Int32Array(0));
  });
});
