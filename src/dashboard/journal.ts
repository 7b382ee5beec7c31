// What the page has seen and what changed since: each object's latest value under a sequence
// number, so a reconnecting page (Last-Event-ID) gets only what changed while it was away. Pure.

export interface Batch<T> {
  /** The sequence number this batch brings the page up to: its SSE id. */
  seq: number;
  /** True when the batch is the whole state, not changes to what the page holds. */
  snapshot: boolean;
  upserts: T[];
  /** Keys of objects deleted. */
  deletes: string[];
}

export class Journal<T> {
  private seq = 0;
  /** Per key, the sequence number of its last change; `value` undefined once deleted (a tombstone). */
  private readonly entries = new Map<string, { seq: number; value: T | undefined }>();
  /** Changes waiting for the next commit: at most one per key, however often it changed meanwhile. */
  private readonly pending = new Map<string, T | undefined>();

  /** Records a change, to be sent with the next commit (coalesced per key). */
  put(key: string, value: T | undefined): void {
    this.pending.set(key, value);
  }

  /** Turns the changes since the last commit into one batch; undefined when nothing changed. */
  commit(): Batch<T> | undefined {
    if (this.pending.size === 0) return undefined;
    const seq = ++this.seq;
    const batch: Batch<T> = { seq, snapshot: false, upserts: [], deletes: [] };
    for (const [key, value] of this.pending) {
      if (value === undefined && !this.entries.get(key)?.value) continue; // never seen alive
      this.entries.set(key, { seq, value });
      if (value === undefined) batch.deletes.push(key);
      else batch.upserts.push(value);
    }
    this.pending.clear();
    return batch;
  }

  snapshot(): Batch<T> {
    const upserts = [...this.entries.values()].flatMap((e) => (e.value === undefined ? [] : [e.value]));
    return { seq: this.seq, snapshot: true, upserts, deletes: [] };
  }

  /**
   * What a page that saw up to `lastId` is missing: the changes after it, or the whole state when
   * the id is not one of ours (another process, a restart) or unreadable.
   */
  since(lastId: string | undefined): Batch<T> {
    const id = lastId === undefined || !/^[0-9]+$/.test(lastId) ? NaN : Number(lastId);
    if (!(id >= 0 && id <= this.seq)) return this.snapshot();
    const batch: Batch<T> = { seq: this.seq, snapshot: false, upserts: [], deletes: [] };
    for (const [key, e] of this.entries) {
      if (e.seq <= id) continue;
      if (e.value === undefined) batch.deletes.push(key);
      else batch.upserts.push(e.value);
    }
    return batch;
  }
}
