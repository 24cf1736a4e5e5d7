/**
 * @module features/redis-circuit
 * Fail fast while Redis is away. Every call to the Redis online store runs under a deadline; a
 * call that meets an outage (no connection, a timeout, a Redis that is loading) opens the circuit,
 * and while it is open calls fail at once with TEMPORARILY_UNAVAILABLE instead of waiting for
 * Redis. The circuit closes when the client reconnects, or when one trial call let through after
 * `cooldownMs` succeeds (a connection that stalled and recovered never reconnects).
 *
 * Messages name what failed in words and error codes, never Redis's address or the driver's text:
 * they reach HTTP clients, and readiness reports them (`details.outage` marks them so).
 */
import { DeadlineExceeded, KeelError, withDeadline } from '../core/index.js';

export interface CircuitOptions {
  /** How long one call may take (ms). */
  timeoutMs: number;
  /** How long an open circuit refuses every call before it lets one trial through (ms). */
  cooldownMs: number;
}

// Replies by which Redis says it cannot serve now, as opposed to refusing one command.
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/;

/** Whether an error from ioredis means Redis is away (every client-side error) rather than a refused command. */
function isOutage(err: unknown): boolean {
  if (err instanceof DeadlineExceeded) return true;
  const e = err as { name?: string; message?: string };
  return e.name !== 'ReplyError' || UNAVAILABLE_REPLY.test(e.message ?? '');
}

/** What went wrong, in words a client may read: codes, never addresses. */
export function outageReason(err: unknown): string {
  if (err instanceof DeadlineExceeded) return `did not answer within ${err.ms} ms`;
  const e = err as { name?: string; message?: string; code?: string };
  if (e.code === 'ECONNREFUSED') return 'refused the connection (ECONNREFUSED)';
  if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return `could not be reached (${e.code})`;
  if (e.name === 'ReplyError') return `cannot serve now (${UNAVAILABLE_REPLY.exec(e.message ?? '')?.[1]})`;
  if (e.name === 'MaxRetriesPerRequestError' || /Connection is closed/.test(e.message ?? ''))
    return 'closed the connection';
  if (/enableOfflineQueue/.test(e.message ?? '')) return 'is not connected';
  return `failed (${e.name ?? 'Error'})`;
}

export class RedisCircuit {
  private open?: { since: number; reason: string; retryAt: number };
  private trialRunning = false;

  constructor(private readonly options: CircuitOptions) {}

  /** Whether calls fail fast now, and why. */
  get state(): { open: false } | { open: true; since: number; reason: string } {
    return this.open ? { open: true, since: this.open.since, reason: this.open.reason } : { open: false };
  }

  /** Redis answered (the client reconnected): calls go through again. */
  close(): void {
    this.open = undefined;
  }

  /**
   * Runs `call` under the deadline, unless the circuit is open.
   * @param what What the call does, for the message ("reading 2 entities").
   * @throws KeelError TEMPORARILY_UNAVAILABLE when the circuit is open or the call meets an
   *   outage (which opens it); a refused command's error as it is.
   */
  async run<T>(what: string, call: () => Promise<T>, timeoutMs = this.options.timeoutMs): Promise<T> {
    const trial = this.open !== undefined;
    if (this.open && (this.trialRunning || Date.now() < this.open.retryAt)) throw this.failingFast();
    if (trial) this.trialRunning = true;
    try {
      const result = await withDeadline(call(), timeoutMs);
      this.close();
      return result;
    } catch (err) {
      if (!isOutage(err)) throw err;
      const reason = outageReason(err);
      const now = Date.now();
      this.open = { since: this.open?.since ?? now, reason, retryAt: now + this.options.cooldownMs };
      throw outage(`the Redis online store ${reason} (${what}); failing fast until it answers again`, err);
    } finally {
      if (trial) this.trialRunning = false;
    }
  }

  private failingFast(): KeelError {
    const open = this.open as { since: number; reason: string };
    return outage(
      `the Redis online store is unavailable since ${new Date(open.since).toISOString()} (it ${open.reason}); failing fast until it answers again`,
    );
  }
}

/** A TEMPORARILY_UNAVAILABLE whose message is written for clients (see module note). */
export function outage(message: string, cause?: unknown): KeelError {
  return new KeelError('TEMPORARILY_UNAVAILABLE', message, { cause, details: { outage: message } });
}
