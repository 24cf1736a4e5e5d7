import { join } from 'node:path';
import { LocalArtifactStore } from '../../src/artifacts/index.js';
import { tempDir } from '../helpers/temp.js';
import { artifactStoreContract } from './store.contract.js';

artifactStoreContract('local folder', async () => ({
  store: new LocalArtifactStore(join(tempDir(), 'artifacts')),
  cleanup: async () => {},
}));
