const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const encoder = new TextEncoder();

/**
 * MurmurHash3, x86 32-bit variant, of the UTF-8 bytes of `text`: the hash
 * Unleash's clients bucket users with. Not a cryptographic hash: it spreads
 * identifiers evenly, it hides nothing.
 */
export function murmur3(text: string, seed = 0): number {
  const bytes = encoder.encode(text);
  const blocks = bytes.length & ~3;
  let h = seed >>> 0;
  for (let i = 0; i < blocks; i += 4) {
    const k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    h ^= mixK(k);
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  }
  const tail = bytes.length & 3;
  if (tail > 0) {
    let k = bytes[blocks]!;
    if (tail > 1) k ^= bytes[blocks + 1]! << 8;
    if (tail > 2) k ^= bytes[blocks + 2]! << 16;
    h ^= mixK(k);
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mixK(k: number): number {
  const mixed = Math.imul(k, C1);
  return Math.imul((mixed << 15) | (mixed >>> 17), C2);
}
