import { describeDatabaseContract } from './database.contract.js';

describeDatabaseContract('sqlite');
