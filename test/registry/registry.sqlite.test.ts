import { describeAliasesContract } from './aliases.contract.js';
import { describeFlavorsContract } from './flavors.contract.js';
import { describeRegistryContract } from './registry.contract.js';

describeRegistryContract('sqlite');
describeFlavorsContract('sqlite');
describeAliasesContract('sqlite');
