/**
 * @module server/serving-heap
 * V8's heap setting for a process that serves requests (`keel serve`, each of its workers).
 *
 * V8 pretenures an allocation site (allocates its objects straight in the old generation) when
 * most of the objects it made were still alive at a young collection. A server can see that of
 * its request path's sites (requests in flight at a scavenge, a warm-up), and the decision then
 * stays while every object of the site dies with its request. Measured at 1,000 100-row
 * requests/s on one worker (--trace-gc, docs/serving-performance.md): the old generation grew
 * 5 MB a scavenge, scavenges took 9-10 ms where 1 ms would do (old objects pointing at young ones
 * are work for each), and a full collection ran every 2 s with the heap swinging between 30 and
 * 130 MB. Without pretenuring: scavenges of about 1 ms, a heap flat at 30 MB.
 *
 * Set at run time: V8 consults it at each young collection, so it holds for the rest of the
 * process (test/server/serving-heap.test.ts checks that it does on this Node).
 */
import { setFlagsFromString } from 'node:v8';

/** Turns V8's allocation-site pretenuring off in this process. */
export function tuneHeapForServing(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}
