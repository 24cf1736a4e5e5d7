/**
 * A store registered before migration 220 keeps working: its versions (one ONNX file at the top of
 * their folder) are servable, tagged `keel.servable`, load, and download as before, on SQLite and
 * PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import { Registry, registryMigrations } from '../../src/registry/index.js';
import { migrate } from '../../src/storage/index.js';
import { writeLogisticModel } from '../helpers/onnx.js';
import { NO_GATES } from '../helpers/registry.js';
import { serviceUrl } from '../helpers/services.js';
import { type Backend, openTestTracking, tempDir } from '../helpers/tracking.js';

const pgUrl = await serviceUrl('postgres');
const backends: Array<[Backend, string | undefined]> = [['sqlite', undefined]];
if (pgUrl) backends.push(['postgres', pgUrl]);

describe.each(backends)('a registry from before migration 220 on %s', (backend, url) => {
  it('keeps its versions servable and loadable, with the servable tag', async () => {
    const { tracking, cleanup } = await openTestTracking(backend, url);
    try {
      await migrate(
        tracking.db,
        registryMigrations.filter((m) => m.version < 220),
      );
      const now = Date.now();
      await tracking.db.run(
        'INSERT INTO registered_models (name, creation_timestamp, last_updated_timestamp) VALUES (?, ?, ?)',
        ['old', now, now],
      );
      const file = writeLogisticModel(tempDir(), [1, 2]);
      await tracking.artifacts.putLocal(file, 'models/old/1/model.onnx');
      await tracking.db.run(
        `INSERT INTO model_versions (name, version, creation_timestamp, last_updated_timestamp, user_id, stage_since, source, model_path, signature, lineage, files)
         VALUES ('old', 1, ?, ?, 'ann', ?, 'model.onnx', 'models/old/1/model.onnx', ?, '{"datasets":[],"feature_views":[]}', ?)`,
        [
          now,
          now,
          now,
          JSON.stringify({ inputs: [], outputs: [] }),
          JSON.stringify(await tracking.artifacts.digest('models/old/1')),
        ],
      );
      const registry = new Registry(tracking, { policy: NO_GATES });
      await registry.init();
      const v = await registry.versions.get('old', 1);
      expect(v.tags).toEqual([{ key: 'keel.servable', value: 'true' }]);
      expect(await registry.versions.getPackage('old', 1)).toMatchObject({
        folder: 'models/old/1',
        model_path: 'models/old/1/model.onnx',
        servable: true,
        flavors: [],
      });
      expect((await registry.resolveModelUri('models:/old/1')).modelFile).toBe(
        await tracking.artifacts.localFile('models/old/1/model.onnx'),
      );
      expect(await registry.versions.downloadUri('old', 1)).toBe('mlflow-artifacts:/models/old/1');
      // The artifact proxy still guards its folder.
      await expect(
        registry.changeArtifacts('delete', 'models/old/1/model.onnx', async () => {}),
      ).rejects.toMatchObject({
        code: 'PERMISSION_DENIED',
      });
    } finally {
      await cleanup();
    }
  });
});
