/**
 * The MLflow 3 Python client's registry flow, replayed request by request against a real Keel
 * server on SQLite and PostgreSQL (issue 16): `mlflow.register_model("runs:/<id>/model")` of a
 * model `keel train` logged (the client lists the run's folder, finds MLmodel, registers its
 * mlflow-artifacts:/ location) and of an sklearn model logged with MLflow 3 (no MLmodel in the run:
 * the client searches the run's logged models and registers `models:/m-<id>` with `model_id`);
 * searches with the prompt filter the 3.x client adds; `mlflow.pyfunc.load_model` and
 * `mlflow.onnx.load_model` of `models:/name/1`, `models:/name@champion` and `models:/name/Production`
 * (get-download-uri, then listing and downloading through the artifact proxy); stage transitions
 * with and without gates; and the aliases champion (governed, answering INVALID_STATE with the gate
 * report) and challenger (free). The sequences follow mlflow/tracking/_model_registry/fluent.py
 * `_register_model`, store/artifact/models_artifact_repo.py and store/artifact/utils/models.py.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainFromConfig } from '../../src/ml/index.js';
import type { Policy } from '../../src/registry/index.js';
import { localTrackingClient } from '../../src/tracking/index.js';
import {
  downloadModel,
  type Frame,
  KEEL_MODEL_FILES,
  readAsMlflow,
  readMlmodel,
} from '../helpers/mlflow-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { serviceUrl } from '../helpers/services.js';
import { type Backend, tempDir } from '../helpers/tracking.js';
import { writeSyntheticCsv } from '../ml/synthetic.js';
import { writeMlflowFolder } from '../registry/fixtures.js';

const pgUrl = await serviceUrl('postgres');
const backends: Array<[Backend, string | undefined]> = [['sqlite', undefined]];
if (pgUrl) backends.push(['postgres', pgUrl]);

/** Production and champion: servable, a metric bar, an approval; Staging and challenger free. */
const POLICY: Policy = {
  productionAlias: 'champion',
  stages: {
    Production: {
      requireApproval: true,
      gates: [{ kind: 'servable' }, { kind: 'metric', metric: 'roc_auc', op: '>=', value: 0.6 }],
    },
  },
  aliases: {
    champion: {
      requireApproval: true,
      gates: [{ kind: 'servable' }, { kind: 'metric', metric: 'roc_auc', op: '>=', value: 0.6 }],
    },
  },
};

const api = (path: string) => `/api/2.0/mlflow/${path}`;
const q = (path: string, params: Record<string, string>) => `${api(path)}?${new URLSearchParams(params)}`;
const PROMPT = "tag.`mlflow.prompt.is_prompt` != 'true'";

describe.each(backends)("the MLflow client's registry flow on %s", (backend, url) => {
  let s: TestServer;
  let keelRun: string;
  let skRun: string;
  let skModel: string;
  const data = tempDir();
  writeSyntheticCsv(data);

  beforeAll(async () => {
    s = await startTestServer(backend, url, undefined, { policy: POLICY });
    // keel train, logging to the server's store: the run holds an MLflow model under model/.
    const run = await localTrackingClient(s.tracking).startRun({ experiment: 'churn' });
    await trainFromConfig(
      {
        data: {
          path: 'data.csv',
          target: 'label',
          positiveLabel: 'yes',
          features: ['a', 'b', 'colour'],
          categorical: ['colour'],
        },
        split: { column: 'split' },
        model: { kind: 'gbdt', params: { iterations: 20 } },
      },
      { baseDir: data, out: 'model.onnx', run },
    );
    await run.end();
    keelRun = run.runId;
  });
  afterAll(async () => s.close());

  const ok = (res: { status: number; body: Record<string, unknown> }) => {
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };

  it('registers runs:/<id>/model of a keel train run as the 3.x client does', async () => {
    ok(await s.call('POST', api('registered-models/create'), { name: 'churn' }));
    // RunsArtifactRepository: the run's artifact location, then its model folder's listing.
    const artifactUri = (
      ok(await s.call('GET', q('runs/get', { run_id: keelRun }))).run as { info: { artifact_uri: string } }
    ).info.artifact_uri;
    const root = artifactUri.slice('mlflow-artifacts:/'.length);
    const listed = ok(
      await s.call(
        'GET',
        `/api/2.0/mlflow-artifacts/artifacts?${new URLSearchParams({ path: `${root}/model` })}`,
      ),
    );
    expect((listed.files as Array<{ path: string }>).map((f) => f.path)).toContain('MLmodel');
    // MLmodel is there: the source is the folder's underlying URI, with the run id.
    const created = ok(
      await s.call('POST', api('model-versions/create'), {
        name: 'churn',
        source: `${artifactUri}/model`,
        run_id: keelRun,
      }),
    ).model_version as Record<string, unknown>;
    expect(created).toMatchObject({
      name: 'churn',
      version: '1',
      status: 'READY',
      run_id: keelRun,
      tags: [{ key: 'keel.servable', value: 'true' }],
    });
    expect(created).not.toHaveProperty('model_id');
    // _create_model_version waits for READY.
    expect(
      (
        ok(await s.call('GET', q('model-versions/get', { name: 'churn', version: '1' }))).model_version as {
          status: string;
        }
      ).status,
    ).toBe('READY');
  });

  it('registers an sklearn model logged with MLflow 3 (runs:/<id>/model finds models:/m-<id>)', async () => {
    ok(await s.call('POST', api('registered-models/create'), { name: 'churn-sk' }));
    // mlflow.sklearn.log_model(model, name="model") inside a run: the files go to the logged model.
    const run = ok(await s.call('POST', api('runs/create'), { experiment_id: '0', start_time: Date.now() }))
      .run as {
      info: { run_id: string; artifact_uri: string };
    };
    skRun = run.info.run_id;
    const model = (
      ok(
        await s.call('POST', api('logged-models'), {
          experiment_id: '0',
          name: 'model',
          source_run_id: skRun,
        }),
      ).model as {
        info: { model_id: string; artifact_uri: string };
      }
    ).info;
    skModel = model.model_id;
    ok(
      await s.call('POST', api('runs/outputs'), { run_id: skRun, models: [{ model_id: skModel, step: 0 }] }),
    );
    const local = tempDir();
    const files = writeMlflowFolder(local, 'sklearn', skModel);
    const prefix = model.artifact_uri.slice('mlflow-artifacts:/'.length);
    for (const f of files) {
      const put = await fetch(`${s.url}/api/2.0/mlflow-artifacts/artifacts/${prefix}/${f}`, {
        method: 'PUT',
        body: readFileSync(join(local, f)),
      });
      expect(put.status, f).toBe(200);
    }
    ok(
      await s.call('PATCH', api(`logged-models/${skModel}`), {
        model_id: skModel,
        status: 'LOGGED_MODEL_READY',
      }),
    );

    // register_model("runs:/<run>/model"): no MLmodel among the run's own files...
    const runRoot = run.info.artifact_uri.slice('mlflow-artifacts:/'.length);
    const listed = ok(
      await s.call(
        'GET',
        `/api/2.0/mlflow-artifacts/artifacts?${new URLSearchParams({ path: `${runRoot}/model` })}`,
      ),
    );
    expect((listed.files ?? []) as unknown[]).toEqual([]);
    // ...so the client looks for the run's logged model named 'model'.
    ok(await s.call('GET', q('runs/get', { run_id: skRun })));
    const found = ok(
      await s.call('POST', api('logged-models/search'), { experiment_ids: ['0'], filter: "name = 'model'" }),
    ).models as Array<{ info: { model_id: string; source_run_id: string } }>;
    expect(found.filter((m) => m.info.source_run_id === skRun).map((m) => m.info.model_id)).toEqual([
      skModel,
    ]);
    const created = ok(
      await s.call('POST', api('model-versions/create'), {
        name: 'churn-sk',
        source: `models:/${skModel}`,
        run_id: skRun,
        model_id: skModel,
      }),
    ).model_version as Record<string, unknown>;
    expect(created).toMatchObject({
      version: '1',
      status: 'READY',
      run_id: skRun,
      model_id: skModel,
      source: `models:/${skModel}`,
      tags: [{ key: 'keel.servable', value: 'false' }],
    });
    // Then it records the version on the logged model.
    ok(await s.call('GET', api(`logged-models/${skModel}`)));
    ok(
      await s.call('PATCH', api(`logged-models/${skModel}/tags`), {
        tags: [{ key: 'mlflow.modelVersions', value: JSON.stringify([{ name: 'churn-sk', version: '1' }]) }],
      }),
    );
  });

  it('finds both with the prompt filter the 3.x client adds to every search', async () => {
    const models = ok(
      await s.call('GET', q('registered-models/search', { filter: PROMPT, max_results: '100' })),
    );
    expect((models.registered_models as Array<{ name: string }>).map((m) => m.name)).toEqual([
      'churn',
      'churn-sk',
    ]);
    const versions = ok(
      await s.call('GET', q('model-versions/search', { filter: `name = 'churn-sk' AND ${PROMPT}` })),
    );
    expect(
      (versions.model_versions as Array<{ version: string; model_id?: string }>).map((v) => [
        v.version,
        v.model_id,
      ]),
    ).toEqual([['1', skModel]]);
  });

  it('loads models:/churn/1 as mlflow.pyfunc.load_model and mlflow.onnx.load_model do, and it scores', async () => {
    const got = await downloadModel(s.url, s.call, 'models:/churn/1');
    expect(got.artifactUri).toBe('mlflow-artifacts:/models/churn/1');
    expect(got.files).toEqual(KEEL_MODEL_FILES);
    const mlmodel = readMlmodel(got.dir) as { flavors: Record<string, Record<string, unknown>> };
    // mlflow.onnx.load_model reads the onnx flavor's file; pyfunc the python_function's.
    expect(got.files).toContain(mlmodel.flavors.onnx.data);
    expect(got.files).toContain(mlmodel.flavors.python_function.data);
    // The bytes are the run's, unchanged.
    const runRoot = `${await s.tracking.runArtifactRoot(keelRun)}/model`;
    expect(readFileSync(join(got.dir, 'model.onnx'))).toEqual(
      readFileSync(await s.tracking.artifacts.localFile(`${runRoot}/model.onnx`)),
    );
    // Scored with its own input example, as `mlflow models serve` validates it.
    const example = JSON.parse(readFileSync(join(got.dir, 'input_example.json'), 'utf8')) as Frame;
    const scored = await readAsMlflow(got.dir, example);
    expect(Object.keys(scored)).toEqual(['label', 'probability']);
    expect(scored.probability).toHaveLength(example.data.length);
    for (const p of scored.probability) expect(p).toBeGreaterThanOrEqual(0);

    // An sklearn version downloads whole, for MLflow's sklearn flavor to load.
    const sk = await downloadModel(s.url, s.call, 'models:/churn-sk/1');
    expect(sk.files).toEqual(['MLmodel', 'conda.yaml', 'model.pkl', 'python_env.yaml', 'requirements.txt']);
    expect(Object.keys((readMlmodel(sk.dir) as { flavors: object }).flavors)).toEqual([
      'python_function',
      'sklearn',
    ]);
  });

  it('moves stages without gates, and answers a gated one with INVALID_STATE naming every failed gate', async () => {
    const staging = ok(
      await s.call('POST', api('model-versions/transition-stage'), {
        name: 'churn',
        version: '1',
        stage: 'Staging',
        archive_existing_versions: false,
      }),
    );
    expect(staging.model_version).toMatchObject({ current_stage: 'Staging' });
    const refused = await s.call('POST', api('model-versions/transition-stage'), {
      name: 'churn-sk',
      version: '1',
      stage: 'Production',
      archive_existing_versions: true,
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error_code).toBe('INVALID_STATE');
    const message = refused.body.message as string;
    expect(message).toMatch(
      /^Version 1 of 'churn-sk' cannot move to Production: failed gates 'servable by Keel \(ONNX\)', 'metric roc_auc >= 0\.6'\n/,
    );
    expect(message).toContain(
      '  FAIL  servable by Keel (ONNX): it holds no ONNX model (MLmodel flavors: python_function, sklearn)',
    );
    expect(message).toContain(`  FAIL  metric roc_auc >= 0.6: run ${skRun} has no metric 'roc_auc'`);
    expect(message).toContain('to pass: Keel serves ONNX models');
  });

  it('sets challenger freely, and governs champion: the gate report, then an approval, then both views agree', async () => {
    ok(
      await s.call('POST', api('registered-models/alias'), {
        name: 'churn',
        alias: 'challenger',
        version: '1',
      }),
    );
    expect(
      (
        ok(await s.call('GET', q('registered-models/alias', { name: 'churn', alias: 'challenger' })))
          .model_version as {
          aliases: string[];
        }
      ).aliases,
    ).toEqual(['challenger']);

    const failed = await s.call('POST', api('registered-models/alias'), {
      name: 'churn-sk',
      alias: 'champion',
      version: '1',
    });
    expect(failed.status).toBe(400);
    expect(failed.body).toMatchObject({ error_code: 'INVALID_STATE' });
    expect(failed.body.message).toMatch(
      /cannot take alias 'champion' \(and Production\): failed gates 'servable by Keel \(ONNX\)'/,
    );

    const pending = await s.call('POST', api('registered-models/alias'), {
      name: 'churn',
      alias: 'champion',
      version: '1',
    });
    expect(pending.status).toBe(400);
    expect(pending.body.error_code).toBe('INVALID_STATE');
    const message = pending.body.message as string;
    const id = Number(/request (\d+) is waiting/.exec(message)?.[1]);
    expect(message).toMatch(
      /^Pointing alias 'champion' of 'churn' at version 1 needs approval: request \d+ is waiting for an approver/,
    );
    expect(message).toContain('  PASS  servable by Keel (ONNX): serves model.onnx');
    expect(message).toMatch(/ {2}PASS {2}metric roc_auc >= 0\.6: roc_auc = 0\.\d+/);
    expect(
      (await s.call('GET', q('registered-models/alias', { name: 'churn', alias: 'champion' }))).status,
    ).toBe(404);

    // A second person approves (keel models approve, or Keel's governance route).
    await s.registry.as({ user: 'bob', role: 'approver' }).approve(id);
    const champion = ok(
      await s.call('GET', q('registered-models/alias', { name: 'churn', alias: 'champion' })),
    ).model_version as { version: string; current_stage: string; aliases: string[] };
    expect(champion).toMatchObject({
      version: '1',
      current_stage: 'Production',
      aliases: ['challenger', 'champion'],
    });
    const latest = ok(
      await s.call('POST', api('registered-models/get-latest-versions'), {
        name: 'churn',
        stages: ['Production'],
      }),
    );
    expect((latest.model_versions as Array<{ version: string }>).map((v) => v.version)).toEqual(['1']);
    // models:/churn@champion and models:/churn/Production load the same folder.
    const byAlias = await downloadModel(s.url, s.call, 'models:/churn@champion');
    const byStage = await downloadModel(s.url, s.call, 'models:/churn/Production');
    expect(byAlias.artifactUri).toBe(byStage.artifactUri);
    expect(byAlias.files).toEqual(byStage.files);

    ok(await s.call('DELETE', api('registered-models/alias'), { name: 'churn', alias: 'challenger' }));
    expect(
      (await s.call('GET', q('registered-models/alias', { name: 'churn', alias: 'challenger' }))).status,
    ).toBe(404);
  });
});
