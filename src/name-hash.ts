/**
 * A stable hash of a metric name into `buckets` (0..buckets-1): FNV-1a over its UTF-8 bytes, the
 * same in every replica and release. Shards are assigned with it, and quiet watermarks are spread
 * over the hour with it.
 */
export function nameBucket(name: string, buckets: number): number {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(name, "utf8")) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h % buckets;
}
