/**
 * Two independent 32-bit FNV-1a hashes of a client address, the key of the per-address
 * tables in shared memory (connection-slots.ts, token-buckets.ts): 64 bits together, so
 * two addresses sharing an entry is practically impossible, and a table stores numbers,
 * not strings. The first is odd, so 0 can mark an empty entry.
 */
function fnv1a(s: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

export function addressHashes(address: string): [a: number, b: number] {
  return [fnv1a(address, 0x811c9dc5) | 1, fnv1a(address, 0x050c5d1f)];
}
