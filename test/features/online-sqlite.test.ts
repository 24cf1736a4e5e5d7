import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openOnlineStore } from '../../src/features/index.js';
import { tempHome } from './helpers.js';
import { describeOnlineStoreContract } from './online-store.contract.js';

const { dir, cleanup } = tempHome();
afterAll(cleanup);

describeOnlineStoreContract('sqlite', () =>
  openOnlineStore({ type: 'sqlite', path: join(dir, 'online.db') }),
);

describe('sqlite online store layout', () => {
  it('refuses a file in the first layout (text keys) with the way out, and leaves it untouched', async () => {
    const path = join(dir, 'old.db');
    const old = new Database(path);
    old.exec(`CREATE TABLE keel_online (entity_key TEXT NOT NULL, view TEXT NOT NULL, event_ts INTEGER NOT NULL,
      created_ts INTEGER, value TEXT NOT NULL, PRIMARY KEY (entity_key, view)) WITHOUT ROWID`);
    old
      .prepare('INSERT INTO keel_online VALUES (?, ?, ?, ?, ?)')
      .run('customer_id=1', 'stats', 1, null, '{}');
    old.close();
    await expect(openOnlineStore({ type: 'sqlite', path })).rejects.toMatchObject({
      code: 'INVALID_STATE',
      message: expect.stringMatching(/first layout.*delete the file and run keel features materialize/),
    });
    const again = new Database(path);
    expect(again.prepare('SELECT count(*) AS n FROM keel_online').get()).toEqual({ n: 1 });
    again.close();
  });
});
