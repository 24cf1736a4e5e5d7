/**
 * The Redis online store's circuit on its own, fed calls that behave as ioredis does when Redis
 * is away or refuses a command (test/server/redis-outage.test.ts drives it through real Redis).
 */
import { describe, expect, it } from 'vitest';
import { RedisCircuit } from '../../src/features/redis-circuit.js';

/** An error as ioredis raises it for a Redis error reply. */
const reply = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });
const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:6379'), { code: 'ECONNREFUSED' });

describe('the Redis circuit', () => {
  it('passes a refused command through and stays closed; an outage opens it and fails fast', async () => {
    const circuit = new RedisCircuit({ timeoutMs: 1000, cooldownMs: 60_000 });
    let calls = 0;
    const wrongType = reply('WRONGTYPE Operation against a key holding the wrong kind of value');
    await expect(
      circuit.run('reading', async () => {
        calls++;
        throw wrongType;
      }),
    ).rejects.toBe(wrongType);
    expect(circuit.state).toEqual({ open: false });

    const outage = await circuit
      .run('reading 2 entities', async () => {
        calls++;
        throw refused();
      })
      .catch((e) => e);
    expect(outage).toMatchObject({
      code: 'TEMPORARILY_UNAVAILABLE',
      message:
        'the Redis online store refused the connection (ECONNREFUSED) (reading 2 entities); failing fast until it answers again',
    });
    expect(outage.message).not.toMatch(/10\.0\.0\.7/);
    expect(circuit.state).toMatchObject({ open: true, reason: 'refused the connection (ECONNREFUSED)' });
    await expect(
      circuit.run('reading', async () => {
        calls++;
        return 'answer';
      }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/is unavailable since .*failing fast/) });
    expect(calls).toBe(2);
    // The client reconnected.
    circuit.close();
    expect(await circuit.run('reading', async () => 'answer')).toBe('answer');
  });

  it('opens on a Redis that is loading, and on a call that outlives the deadline', async () => {
    const circuit = new RedisCircuit({ timeoutMs: 20, cooldownMs: 60_000 });
    await expect(
      circuit.run('reading', async () => {
        throw reply('LOADING Redis is loading the dataset in memory');
      }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/cannot serve now \(LOADING\)/) });
    circuit.close();
    const never = new Promise<string>(() => {});
    await expect(circuit.run('reading', () => never)).rejects.toMatchObject({
      code: 'TEMPORARILY_UNAVAILABLE',
      message: expect.stringMatching(/did not answer within 20 ms \(reading\)/),
    });
  });

  it('after the cooldown lets one trial through at a time, and closes when it succeeds', async () => {
    const circuit = new RedisCircuit({ timeoutMs: 1000, cooldownMs: 0 });
    await circuit
      .run('reading', async () => {
        throw refused();
      })
      .catch(() => {});
    let release!: (v: string) => void;
    const trial = circuit.run('trial', () => new Promise<string>((resolve) => (release = resolve)));
    // While the trial runs, others still fail fast.
    await expect(circuit.run('other', async () => 'x')).rejects.toMatchObject({
      message: expect.stringMatching(/is unavailable since/),
    });
    release('ok');
    expect(await trial).toBe('ok');
    expect(circuit.state).toEqual({ open: false });
    // A failed trial keeps it open, since the first failure.
    await circuit.run('a', async () => Promise.reject(refused())).catch(() => {});
    const since = (circuit.state as { since: number }).since;
    await circuit.run('b', async () => Promise.reject(refused())).catch(() => {});
    expect(circuit.state).toMatchObject({ open: true, since });
  });
});
