/**
 * Concurrent registrations of one model, some failing inside their transaction after their files
 * were written (a trigger in the real database refuses them). A failed create must never remove
 * another create's files: every version that exists afterwards loads and verifies, every valid
 * create succeeds, and no temporary folder is left behind. On PostgreSQL the creates share one
 * process (its pool runs them on several connections); on SQLite, whose transactions one process
 * runs one at a time, three processes register at once.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/registry/index.js';
import { writeLogisticModel } from '../helpers/onnx.js';
import { openTestRegistry } from '../helpers/registry.js';
import { POSTGRES_URL, serviceUrl } from '../helpers/services.js';
import { type Backend, tempDir } from '../helpers/tracking.js';
import { artifactRoot } from './world.js';

const postgres = await serviceUrl('postgres');

const FAIL_TRIGGER: Record<Backend, string> = {
  sqlite: `CREATE TRIGGER keel_test_fail BEFORE INSERT ON model_versions WHEN NEW.description = 'fail'
           BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
  postgres: `CREATE FUNCTION keel_test_fail() RETURNS trigger AS $$
             BEGIN IF NEW.description = 'fail' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END
             $$ LANGUAGE plpgsql;
             CREATE TRIGGER keel_test_fail BEFORE INSERT ON model_versions FOR EACH ROW EXECUTE FUNCTION keel_test_fail()`,
};

const ROUNDS = 3;
const PER_ROUND = 24;

for (const backend of ['sqlite', 'postgres'] as Backend[]) {
  describe.skipIf(backend === 'postgres' && !postgres)(`concurrent registrations on ${backend}`, () => {
    let registry: Registry;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      const opened = await openTestRegistry(
        backend,
        backend === 'postgres' ? (postgres ?? POSTGRES_URL) : undefined,
      );
      registry = opened.registry;
      cleanup = opened.cleanup;
      await registry.models.create('churn');
      await registry.tracking.db.exec(FAIL_TRIGGER[backend]);
    });
    afterAll(async () => cleanup());

    /** Registers PER_ROUND versions ROUNDS times, all at once; returns how many succeeded. */
    async function inProcess(files: string[], errors: string[]): Promise<number> {
      let succeeded = 0;
      for (let round = 0; round < ROUNDS; round++) {
        await Promise.all(
          Array.from({ length: PER_ROUND }, (_, i) =>
            registry.versions
              .create({ name: 'churn', source: files[i % 2], description: i % 3 === 0 ? 'fail' : 'ok' })
              .then(
                () => {
                  if (i % 3 === 0) errors.push(`create ${i} should have failed`);
                  else succeeded++;
                },
                (err: Error) => {
                  if (i % 3 !== 0 || !/injected failure|Internal/.test(err.message))
                    errors.push(`create ${i}: ${err.message}`);
                },
              ),
          ),
        );
      }
      return succeeded;
    }

    /** Three processes registering PER_ROUND versions each over the same SQLite file. */
    async function inProcesses(files: string[], errors: string[]): Promise<number> {
      const db = (registry.tracking.db as unknown as { path: string }).path;
      const root = artifactRoot(registry.tracking);
      const children = files.concat(files[0]).map(
        (file) =>
          new Promise<{ ok: number; errors: string[] }>((resolve, reject) => {
            const child = spawn(
              process.execPath,
              [
                '--import',
                'tsx',
                join(import.meta.dirname, 'register-child.ts'),
                db,
                root,
                String(PER_ROUND * 3),
                file,
              ],
              { stdio: ['ignore', 'pipe', 'inherit'] },
            );
            let out = '';
            child.stdout.on('data', (c) => {
              out += c;
            });
            child.on('error', reject);
            child.on('exit', (code) =>
              code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}: ${out}`)),
            );
          }),
      );
      let succeeded = 0;
      for (const r of await Promise.all(children)) {
        succeeded += r.ok;
        errors.push(...r.errors);
      }
      return succeeded;
    }

    it('never lose a version’s files to a create that failed', async () => {
      const dir = tempDir();
      const files = [
        writeLogisticModel(dir, [1, 0, 0], 'a.onnx'),
        writeLogisticModel(dir, [0, 1, 0], 'b.onnx'),
      ];
      const errors: string[] = [];
      const succeeded =
        backend === 'sqlite' ? await inProcesses(files, errors) : await inProcess(files, errors);
      expect(errors).toEqual([]);
      const versions = (await registry.versions.search({ filter: "name = 'churn'", maxResults: 1000 })).items;
      expect(versions).toHaveLength(succeeded);
      for (const v of versions) {
        const resolved = await registry.resolveModelUri(`models:/churn/${v.version}`);
        expect(resolved.modelFile).toMatch(new RegExp(`models/churn/${v.version}/(a|b)\\.onnx$`));
      }
      const root = artifactRoot(registry.tracking);
      const left = readdirSync(join(root, 'models', 'churn')).filter((n) => !/^\d+$/.test(n));
      expect(left).toEqual([]);
    }, 120_000);
  });
}
