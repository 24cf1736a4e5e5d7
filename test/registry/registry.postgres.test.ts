import { describe, it } from 'vitest';
import { serviceUrl } from '../helpers/services.js';
import { describeRegistryContract } from './registry.contract.js';

const url = await serviceUrl('postgres');
if (url) describeRegistryContract('postgres', url);
else describe.skip('registry on postgres (PostgreSQL does not answer)', () => it('skipped', () => {}));
