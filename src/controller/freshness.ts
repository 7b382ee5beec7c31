// The rule that keeps a cache from going back in time. Two sources write an informer's cache: the
// watch, and the answers to our own writes (`remember`). An answer can be older than what the
// watch already delivered (the Deployment controller's status write right after our scale, say):
// taken as is, it would replace the newer object and nothing would ever correct it. So nothing
// older than what a cache holds replaces it, and no answer older than a delete brings it back.
// Pure: the informers and the simulated cluster's operator (test/support/world.ts) share it.

/**
 * Is resourceVersion `a` older than `b`? They are etcd revisions, decimal integers the API server
 * itself parses as uint64: compared as big integers, since a double loses them past 2^53.
 */
export function isOlder(a: string | undefined, b: string | undefined): boolean {
  const x = revision(a);
  const y = revision(b);
  // Not both integers (not etcd behind the API server, or nothing held): nothing proves it older, so the write is taken.
  if (x === undefined || y === undefined) return false;
  return x < y;
}

const revision = (rv: string | undefined) => (rv !== undefined && /^\d+$/.test(rv) ? BigInt(rv) : undefined);

/** The most deletes remembered per cache: a cache's memory stays bounded whatever is deleted. */
const DELETES_KEPT = 1024;

/** Decides, per key, whether a write may replace what a cache holds. Keeps recent deletes' resourceVersions. */
export class Freshness {
  /** key -> resourceVersion of its delete, oldest first (a Map keeps insertion order). */
  private readonly deletes = new Map<string, string>();

  constructor(private readonly limit = DELETES_KEPT) {}

  /** May an object at `rv` replace what the cache holds for `key` (at `held`, if anything)? If so, an earlier delete is forgotten. */
  put(key: string, rv: string | undefined, held: string | undefined): boolean {
    if (isOlder(rv, held) || isOlder(rv, this.deletes.get(key))) return false;
    this.deletes.delete(key);
    return true;
  }

  /** May a delete at `rv` remove what the cache holds (at `held`)? If so, it is remembered, so an older answer cannot bring it back. */
  delete(key: string, rv: string | undefined, held: string | undefined): boolean {
    if (isOlder(rv, held) || isOlder(rv, this.deletes.get(key))) return false;
    this.deletes.delete(key);
    if (rv !== undefined) this.deletes.set(key, rv);
    if (this.deletes.size > this.limit) this.deletes.delete(this.deletes.keys().next().value!);
    return true;
  }

  /** A relist replaced the whole cache: no earlier delete counts any more. */
  clear(): void {
    this.deletes.clear();
  }

  /** How many deletes are remembered (for tests). */
  get size(): number {
    return this.deletes.size;
  }
}
