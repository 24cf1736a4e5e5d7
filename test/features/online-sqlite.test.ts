import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openOnlineStore } from '../../src/features/index.js';
import { tempHome } from './helpers.js';
import { describeOnlineStoreContract } from './online-store.contract.js';

const { dir, cleanup } = tempHome();
afterAll(cleanup);

describeOnlineStoreContract('sqlite', () =>
  openOnlineStore({ type: 'sqlite', path: join(dir, 'online.db') }),
);
