// Preloaded into the operator by bench/restart-memory.ts (node --import): on SIGUSR2 it appends
// one line of JSON to $MEMORY_SPLIT_FILE, the process's memory split by who holds it: RSS, its
// anonymous and file-backed parts (/proc/self/smaps_rollup), V8's heap (committed, used, the old
// space), and what V8 counts outside it (external, ArrayBuffers). Anonymous memory that is not
// V8's heap is malloc's, mostly.
import { appendFileSync, readFileSync } from 'node:fs';
import v8 from 'node:v8';

const file = process.env.MEMORY_SPLIT_FILE;
const mib = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;

if (file) {
  process.on('SIGUSR2', () => {
    const rollup = Object.fromEntries(readFileSync('/proc/self/smaps_rollup', 'utf8').split('\n')
      .map((l) => /^(\w+):\s+(\d+) kB/.exec(l)).filter(Boolean).map((m) => [m[1], mib(Number(m[2]) * 1024)]));
    const m = process.memoryUsage();
    const heap = v8.getHeapStatistics();
    const old = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
    appendFileSync(file, `${JSON.stringify({
      rss: mib(m.rss), anonymous: rollup.Anonymous, fileBacked: Math.round((rollup.Rss - rollup.Anonymous) * 10) / 10,
      heapCommitted: mib(heap.total_physical_size), heapUsed: mib(m.heapUsed), oldSpaceCommitted: mib(old?.physical_space_size ?? 0),
      external: mib(m.external), arrayBuffers: mib(m.arrayBuffers), notV8: Math.round((rollup.Anonymous - mib(heap.total_physical_size)) * 10) / 10,
    })}\n`);
  });
}
