/**
 * @module core/deadline
 * Bounding how long a call to another service may take (a Redis read, a readiness probe), so an
 * outage answers an error instead of a hang.
 */

/** The error a call that outlived its deadline rejects with. */
export class DeadlineExceeded extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'DeadlineExceeded';
  }
}

/**
 * Settles as `work`, or rejects with DeadlineExceeded after `ms` (`work` itself runs on). The
 * timer's rejection waits one turn of the event loop, so an answer that arrived while the loop
 * was busy (a loaded machine) is read before the deadline is judged: a late loop is not a slow
 * service.
 */
export function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => setImmediate(() => settle(() => reject(new DeadlineExceeded(ms)))), ms);
    work.then(
      (value) => settle(() => resolve(value)),
      (err: unknown) => settle(() => reject(err)),
    );
  });
}
