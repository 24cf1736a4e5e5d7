import { describe, it } from 'vitest';
import { serviceUrl } from '../helpers/services.js';
import { describeDatabaseContract } from './database.contract.js';

const url = await serviceUrl('postgres');
if (url) describeDatabaseContract('postgres', url);
else
  describe.skip('metadata database on postgres (PostgreSQL does not answer)', () => it('skipped', () => {}));
