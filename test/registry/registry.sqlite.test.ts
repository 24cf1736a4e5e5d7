import { describeRegistryContract } from './registry.contract.js';

describeRegistryContract('sqlite');
