/**
 * @module demo/churn
 * `keel demo`: the seed use case end to end on the embedded stores of the working folder's
 * `.keel/`: ingest and validate the Online Retail transactions, apply the churn feature repo,
 * build a point-in-time training set with a time-based split, train and evaluate a GBDT in a
 * tracking run, register it and promote it to Staging, try Production through the gates, and
 * score one customer from the online store with the registered ONNX model.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { type KeelConfig, KeelError, noProgress, type ProgressFn } from '../core/index.js';
import { FeatureStore } from '../features/index.js';
import { Registry } from '../registry/index.js';
import { localTrackingClient } from '../tracking/index.js';
import { type IngestStep, ingestRetail } from './ingest-step.js';
import { type OnlineStep, scoreOnline } from './online-step.js';
import { CHURN_EXAMPLE } from './paths.js';
import { type RegistryStep, registerAndPromote } from './registry-step.js';
import { type TrainStep, trainChurnModel } from './train-step.js';
import { buildTrainingSet, type TrainingSet } from './training-set.js';

/**
 * Training cutoffs are those whose 90-day label window closes before the test cutoff, so every
 * training label was already known on the test day; 2011-09-09 is the data README's reference day.
 */
export const CHURN_CUTOFFS = ['2011-03-01', '2011-04-01', '2011-05-01', '2011-06-01', '2011-09-09'] as const;
/** The end of the data's last day (2011-12-09): the moment online features are served as of. */
export const SERVE_AT = '2011-12-10T00:00:00Z';
const MATERIALIZE_FROM = '2011-12-01T00:00:00Z';
export const DEMO_CUSTOMER = 17850;
export const DEMO_EXPERIMENT = 'churn';
export const DEMO_MODEL = 'churn';

export interface ChurnDemoResult {
  home: string;
  ingest: IngestStep;
  features: { repo: string; changes: Array<{ kind: string; name: string; change: string; version: number }> };
  trainingSet: TrainingSet;
  training: TrainStep;
  registry: RegistryStep;
  online: OnlineStep;
  /** Commands to explore what the demo left behind. */
  next: string[];
}

/** One finished step, for printing as the demo goes. */
export type DemoStep =
  | { step: 'ingest'; result: IngestStep }
  | { step: 'features'; result: ChurnDemoResult['features'] }
  | { step: 'training-set'; result: TrainingSet }
  | { step: 'train'; result: TrainStep }
  | { step: 'registry'; result: RegistryStep }
  | { step: 'online'; result: OnlineStep };

export interface ChurnDemoOptions {
  onProgress?: ProgressFn;
  /** Called after each step with its result. */
  onStep?: (step: DemoStep) => void;
}

/** The feature repo reads the stored partition instead of the CSV (see examples/churn/features.ts). */
async function applyRepo(store: FeatureStore, partition: string) {
  const previous = process.env.KEEL_RETAIL_DATA;
  process.env.KEEL_RETAIL_DATA = partition;
  try {
    return await store.apply(CHURN_EXAMPLE.features);
  } finally {
    if (previous === undefined) delete process.env.KEEL_RETAIL_DATA;
    else process.env.KEEL_RETAIL_DATA = previous;
  }
}

/**
 * Runs the churn demo in `config.home`. Running it again adds a new ingest, run and model version.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST when the churn example is not beside the code (an
 * installed package ships `dist/` only); otherwise the error of the step that failed.
 */
export async function runChurnDemo(
  config: KeelConfig,
  options: ChurnDemoOptions = {},
): Promise<ChurnDemoResult> {
  const missing = Object.values(CHURN_EXAMPLE).find((file) => !existsSync(file));
  if (missing) {
    throw new KeelError(
      'RESOURCE_DOES_NOT_EXIST',
      `The demo needs the churn example of Keel's repository, and ${missing} is missing: run it from a clone (npm run demo)`,
    );
  }
  const progress = options.onProgress ?? noProgress;
  const emit = options.onStep ?? (() => {});
  const dir = join(config.home, 'demo');
  mkdirSync(dir, { recursive: true });
  const at = Date.parse(SERVE_AT);

  const ingested = await ingestRetail(config.home, progress);
  emit({ step: 'ingest', result: ingested });

  const store = new FeatureStore({ config, clock: { now: () => at } });
  const registry = await Registry.open(config);
  const client = localTrackingClient(registry.tracking, config.root);
  try {
    const changes = await applyRepo(store, ingested.partition);
    const features = { repo: CHURN_EXAMPLE.features, changes };
    emit({ step: 'features', result: features });

    const trainingSet = await buildTrainingSet(store, ingested.partition, CHURN_CUTOFFS, dir);
    emit({ step: 'training-set', result: trainingSet });

    const reg = store.registry();
    const refs = reg.featureServices.churn_model.spec.features;
    const viewNames = [...new Set(refs.map((r) => r.split(':')[0]))];
    const training = await trainChurnModel({
      client,
      experiment: DEMO_EXPERIMENT,
      ingested,
      trainingSet,
      featureViews: viewNames.map((v) => `${v}@${reg.featureViews[v].version}`),
      features: refs.map((r) => r.split(':')[1]),
      dir,
      onProgress: progress,
    });
    emit({ step: 'train', result: training });

    const registered = await registerAndPromote(registry, DEMO_MODEL, {
      uri: training.modelUri,
      runId: training.runId,
      features: [...refs],
    });
    emit({ step: 'registry', result: registered });

    const modelUri = `models:/${DEMO_MODEL}/${registered.version}`;
    const online = await scoreOnline({
      store,
      at,
      from: Date.parse(MATERIALIZE_FROM),
      customerId: DEMO_CUSTOMER,
      features: training.features,
      modelFile: (await registry.resolveModelUri(modelUri)).modelFile,
      modelUri,
      onProgress: progress,
    });
    emit({ step: 'online', result: online });

    return {
      home: config.home,
      ingest: ingested,
      features,
      trainingSet,
      training,
      registry: registered,
      online,
      next: [
        `keel runs list --experiment ${DEMO_EXPERIMENT}`,
        `keel runs show ${training.runId}`,
        `keel models show ${DEMO_MODEL}`,
        `keel models promote ${DEMO_MODEL} ${registered.version} --to Production`,
        `keel features get-online --feature-service churn_model --entity customer_id=${DEMO_CUSTOMER} --at ${SERVE_AT}`,
        `keel score --model models:/${DEMO_MODEL}/${registered.version} --data ${relative(dirname(config.home), trainingSet.testPath)} --out scores.parquet --keep customer_id`,
        `keel serve --model models:/${DEMO_MODEL}/${registered.version} --features-at ${SERVE_AT}`,
      ],
    };
  } finally {
    await client.close();
    await store.close();
    await registry.close();
  }
}
