import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { shortId } from '../../src/core/index.js';
import { openOnlineStore } from '../../src/features/index.js';
import { serviceUrl } from '../helpers/services.js';
import { describeOnlineStoreContract } from './online-store.contract.js';

const url = await serviceUrl('redis');

describe.skipIf(!url)('redis online store', () => {
  // A namespace of its own, so parallel runs never see each other's keys; the suite deletes them.
  describeOnlineStoreContract('redis', async () =>
    url ? openOnlineStore({ type: 'redis', url }, { keyPrefix: `keel-test:${shortId()}:` }) : undefined,
  );

  it('refuses a prefix holding the first layout (text keys) with the way out', async () => {
    const prefix = `keel-test:${shortId()}:`;
    const raw = new Redis(url as string);
    await raw.hset(`${prefix}customer_id=1`, 'stats', '{"t":1,"v":{}}');
    try {
      await expect(
        openOnlineStore({ type: 'redis', url: url as string }, { keyPrefix: prefix }),
      ).rejects.toMatchObject({
        code: 'INVALID_STATE',
        message: expect.stringMatching(/first layout.*run keel features materialize again/),
      });
    } finally {
      await raw.del(`${prefix}customer_id=1`);
      raw.disconnect();
    }
  });
});

describe('redis online store without Redis', () => {
  it('fails fast with TEMPORARILY_UNAVAILABLE and the reason', async () => {
    await expect(openOnlineStore({ type: 'redis', url: 'redis://127.0.0.1:1' })).rejects.toMatchObject({
      code: 'TEMPORARILY_UNAVAILABLE',
      message: 'the Redis online store does not answer: it refused the connection (ECONNREFUSED)',
    });
  });
});
