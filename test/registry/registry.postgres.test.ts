import { describe, it } from 'vitest';
import { serviceUrl } from '../helpers/services.js';
import { describeAliasesContract } from './aliases.contract.js';
import { describeFlavorsContract } from './flavors.contract.js';
import { describeRegistryContract } from './registry.contract.js';

const url = await serviceUrl('postgres');
if (url) {
  describeRegistryContract('postgres', url);
  describeFlavorsContract('postgres', url);
  describeAliasesContract('postgres', url);
} else describe.skip('registry on postgres (PostgreSQL does not answer)', () => it('skipped', () => {}));
