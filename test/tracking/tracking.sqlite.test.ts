import { describeLoggedModelContract } from './logged-models.contract.js';
import { describeTrackingContract } from './tracking.contract.js';

describeTrackingContract('sqlite');
describeLoggedModelContract('sqlite');
