/**
 * One process of the registration race on SQLite: opens the registry over a shared database file
 * and artifact root and registers `count` versions of `churn` as fast as it can, every third one
 * refused inside its transaction by the test's trigger. Prints `{ok, errors}` as JSON.
 * Usage: node --import tsx register-child.ts DB ARTIFACTS COUNT MODEL_FILE
 */
import { LocalArtifactStore } from '../../src/artifacts/index.js';
import { Registry } from '../../src/registry/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { Tracking } from '../../src/tracking/index.js';

const [dbPath, artifacts, count, modelFile] = process.argv.slice(2);
const db = await openDatabase({ type: 'sqlite', path: dbPath });
const registry = new Registry(new Tracking(db, new LocalArtifactStore(artifacts)), {
  policy: { productionAlias: 'champion', stages: {} },
});
let ok = 0;
const errors: string[] = [];
await Promise.all(
  Array.from({ length: Number(count) }, (_, i) =>
    registry.versions
      .create({ name: 'churn', source: modelFile, description: i % 3 === 0 ? 'fail' : 'ok' })
      .then(
        () => {
          if (i % 3 === 0) errors.push(`create ${i} should have failed`);
          else ok++;
        },
        (err: Error) => {
          if (i % 3 !== 0 || !/injected failure/.test(err.message))
            errors.push(`create ${i}: ${err.message}`);
        },
      ),
  ),
);
await registry.close();
process.stdout.write(JSON.stringify({ ok, errors }));
