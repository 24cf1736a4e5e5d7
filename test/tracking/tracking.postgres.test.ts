import { describe, it } from 'vitest';
import { serviceUrl } from '../helpers/services.js';
import { describeLoggedModelContract } from './logged-models.contract.js';
import { describeTrackingContract } from './tracking.contract.js';

const url = await serviceUrl('postgres');
if (url) {
  describeTrackingContract('postgres', url);
  describeLoggedModelContract('postgres', url);
} else
  describe.skip('tracking store on postgres (PostgreSQL does not answer)', () => it('skipped', () => {}));
