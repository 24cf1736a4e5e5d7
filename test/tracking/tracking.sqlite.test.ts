import { describeTrackingContract } from './tracking.contract.js';

describeTrackingContract('sqlite');
