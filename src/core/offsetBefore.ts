/**
 * Whether decimal offset `a` comes before `b`. Offsets are decimal strings (Kafka's are 64-bit);
 * below 2^53 (every real one) they compare as plain numbers, beyond as BigInts.
 */
export function offsetBefore(a: string, b: string): boolean {
  return a.length < 16 && b.length < 16 ? Number(a) < Number(b) : BigInt(a) < BigInt(b);
}
