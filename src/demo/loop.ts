/**
 * @module demo/loop
 * `keel demo --loop`: the loop closing on its own. After the demo has served the churn model, the
 * later months of Online Retail are replayed as traffic through `/predict` of a real server, with
 * the process clock moved to each invoice's time: every invoice is a customer showing up, scored
 * with their features as of the day before. Labels are posted to `/feedback` when their 90 days
 * are over. At the end of each week (Monday 00:00 UTC) the monitor judges that week's window
 * against the traffic of the training period (March to June, scored by the served version), its
 * alerts fire and resolve, and a drift trigger retrains the model with its recipe (`keel train
 * --config`, a child process) on the labels closed by then; the new version goes to Staging
 * through its gates and takes a canary share of the traffic.
 *
 * The monitor's settings for this traffic, and why:
 * - reference = a dataset: the training period's traffic, not the training set's cutoff
 *   snapshots (a customer placing an order is not a random customer on the 1st of a month);
 * - a week's window: the replay has ~60 requests a day, and deciles need a few hundred values;
 * - `tenure_days` and `total_orders` are not judged by PSI: they count days and orders since the
 *   data's start (December 2010), so they grow with the data's age whatever the customers do;
 * - prediction drift at KS p < 1e-6, not the seed's 0.01: the scores follow tenure, so they drift
 *   slowly as the data ages, and at p < 0.01 two weeks of the training period itself (June) raise
 *   an alert (their lowest p is 1.2e-4);
 * - missing values up to 40%: a first-time customer has no history (a quarter of the reference);
 * - no latency alert: a replay's latencies measure how busy this machine is, not the model.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type KeelConfig, KeelError, noProgress, type ProgressFn, setProcessTime } from '../core/index.js';
import { FeatureStore } from '../features/index.js';
import { Monitoring, type MonitorResult, type Retraining, realisedPerformance } from '../monitoring/index.js';
import { startServer } from '../server/index.js';
import type { ServedModelInfo } from '../serving/index.js';
import { buildTraffic, type TrafficRow, writeReference, writeRetrainLabels } from './loop-traffic.js';
import { GBDT_PARAMS } from './train-step.js';

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
/** The training period's traffic, the monitor's reference: what the model was made for. */
export const REFERENCE = { from: '2011-03-01', until: '2011-07-01' } as const;
/** The replay: from the first Monday of April to the Monday after the data ends. */
export const REPLAY = { from: '2011-04-04', until: '2011-12-12' } as const;
/** The retraining's first cutoff: the monthly cutoffs from here whose labels have closed. */
const RETRAIN_FROM = '2011-01-01';
/** Windows ending by then lie in the training period: the control, where no alert should fire. */
export const TRAINING_PERIOD_END = '2011-07-04';
/**
 * The loop serves the demo's version under its own name, so a loop started again begins from a
 * clean prediction log, monitor history and alerts (they are kept by model name).
 */
export const LOOP_MODEL = 'churn-loop';
const MODEL = LOOP_MODEL;
const CANARY_ALIAS = 'challenger';
const CANARY_PERCENT = 20;

export interface LoopWindow {
  start: number;
  end: number;
  rows: number;
  /** Rows the canary served. */
  canaryRows: number;
  /** The served version's PSI per judged feature. */
  psi: Record<string, number | null>;
  /** The served version's prediction drift: KS p-value of its scores against the reference's. */
  predictionP: number | null;
  /** `rule subject` of each breach. */
  breaches: string[];
  fired: Array<{
    id: number;
    version: string;
    rule: string;
    subject: string;
    value: number | null;
    threshold: number;
  }>;
  resolved: Array<{ id: number; version: string; rule: string; subject: string }>;
  retraining?: Retraining;
}

export interface ChurnLoopResult {
  reference: { from: string; until: string; rows: number; path: string };
  /** Requests sent (one per hour with invoices), rows scored (one per invoice), labels posted. */
  replay: { from: string; until: string; requests: number; rows: number; labelsPosted: number };
  windows: LoopWindow[];
  /** Alerts fired by windows of the training period: the control, expected 0. */
  trainingPeriodAlerts: number;
  /** The first window with a drift alert (PSI or prediction), and how long after its start it fired. */
  firstDrift?: { window: LoopWindow; firedAt: number; delayMs: number };
  /** The first window whose scores drifted (the November-December peak). */
  firstPredictionDrift?: { window: LoopWindow; firedAt: number; delayMs: number };
  /** The retrainings the monitors triggered, in order. */
  retrainings: Retraining[];
  /** Realised AUC per 1,000 labelled rows of the replay, against the run's. */
  performance: Array<{ start: number; end: number; labelled: number; rocAuc: number | null }>;
}

export type LoopEvent =
  | { kind: 'prepared'; reference: ChurnLoopResult['reference']; rows: number }
  | { kind: 'window'; window: LoopWindow };

export interface ChurnLoopOptions {
  /** The demo's registered version of `churn`, served (as `churn-loop` version 1) as the primary. */
  version: string;
  /** The ingested transactions (Parquet). */
  partition: string;
  features: readonly string[];
  onEvent?: (event: LoopEvent) => void;
  onProgress?: ProgressFn;
  /** Replay until this ISO day instead (tests stop early). */
  until?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

async function post(url: string, body: unknown): Promise<Response> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok)
    throw new KeelError('INTERNAL_ERROR', `POST ${url} answered ${res.status}: ${await res.text()}`);
  return res;
}

/** Features counting days and orders since the data's start: their PSI is not judged. */
const UNJUDGED_PSI = { tenure_days: { psi: null }, total_orders: { psi: null } };

/** The monitor and retraining settings of the loop (see the module comment). */
function loopSettings(referencePath: string, trainConfig: string, features: readonly string[]) {
  return {
    models: {
      [MODEL]: {
        window: '7d',
        reference: { dataset: referencePath },
        features: [...features],
        thresholds: { missingShare: 0.4, p99Ms: null, predictionKsP: 1e-6 },
        featureThresholds: UNJUDGED_PSI,
        retrain: {
          recipe: { train: trainConfig },
          triggers: { drift: { psi: 0.2, share: 0.2 } },
          promote: { stage: 'Staging', canaryAlias: CANARY_ALIAS },
          cooldown: '60d',
          experiment: 'churn-retrain',
        },
      },
    },
    alerts: { destinations: [{ type: 'log' }] },
  };
}

/**
 * Replays the later months through a real server and the monitors (see the module comment).
 * Leaves the process clock where it was.
 */
export async function runChurnLoop(config: KeelConfig, options: ChurnLoopOptions): Promise<ChurnLoopResult> {
  const progress = options.onProgress ?? noProgress;
  const emit = options.onEvent ?? (() => {});
  const dir = join(config.home, 'demo', 'loop');
  for (const sub of ['reference', 'replay']) mkdirSync(join(dir, sub), { recursive: true });
  const until = options.until ?? REPLAY.until;

  const store = new FeatureStore({ config });
  let referenceRows: TrafficRow[];
  let traffic: TrafficRow[];
  try {
    referenceRows = await buildTraffic(
      store,
      options.partition,
      options.features,
      REFERENCE.from,
      REFERENCE.until,
      join(dir, 'reference'),
    );
    traffic = await buildTraffic(
      store,
      options.partition,
      options.features,
      REPLAY.from,
      until,
      join(dir, 'replay'),
    );
  } finally {
    await store.close();
  }
  const referencePath = join(dir, 'reference_traffic.parquet');
  await writeReference(referenceRows, options.features, referencePath);
  const reference = { ...REFERENCE, rows: referenceRows.length, path: referencePath };
  emit({ kind: 'prepared', reference, rows: traffic.length });

  // The retraining recipe: the demo's GBDT on the churn labels closed by the time it runs.
  const labelsPath = join(dir, 'retrain_labels.parquet');
  const trainConfig = join(dir, 'train.yaml');
  writeFileSync(
    trainConfig,
    `data:\n  trainingSet: { entities: ${JSON.stringify(labelsPath)}, featureService: churn_model }\n  target: churned\nmodel: { kind: gbdt, params: ${JSON.stringify(GBDT_PARAMS)} }\nout: ${JSON.stringify(join(dir, 'retrained.onnx'))}\n`,
  );
  const loopConfig: KeelConfig = {
    ...config,
    logLevel: 'error',
    // A first-time customer has no history: the shop still asks for a score at their first order
    // (serving refuses rows with every feature missing unless told), and the monitor counts them
    // as missing values.
    serving: {
      ...config.serving,
      models: { ...config.serving?.models, [MODEL]: { inputPolicy: { allMissing: 'score' } } },
    },
    monitoring: { ...config.monitoring, ...loopSettings(referencePath, trainConfig, options.features) },
  };

  const start = Date.parse(`${REPLAY.from}T00:00:00Z`);
  const end = Date.parse(`${until}T00:00:00Z`);
  setProcessTime(start);
  await freshLoopModel(loopConfig, options.version);
  const server = await startServer(loopConfig, {
    port: 0,
    scheduler: false,
    refreshIntervalMs: 100,
    canarySeed: 11,
    models: [
      {
        uri: `models:/${MODEL}/1`,
        canary: { uri: `models:/${MODEL}@${CANARY_ALIAS}`, percent: CANARY_PERCENT },
      },
    ],
  });
  const monitoring = await Monitoring.open(loopConfig);
  const windows: LoopWindow[] = [];
  let labelsPosted = 0;
  let requests = 0;
  const retrainings: Retraining[] = [];
  try {
    const pending: Array<{ id: string; row: number; value: number; at: number }> = [];
    let next = 0;
    for (let boundary = start + WEEK_MS; boundary <= end; boundary += WEEK_MS) {
      for (let hour = boundary - WEEK_MS; hour < boundary; hour += 3_600_000) {
        // Labels whose 90 days are over by now.
        pending.sort((a, b) => a.at - b.at);
        const due = pending.filter((p) => p.at <= hour);
        if (due.length > 0) {
          setProcessTime(hour);
          pending.splice(0, due.length);
          for (let i = 0; i < due.length; i += 10_000)
            await post(
              `${server.url}/feedback`,
              due.slice(i, i + 10_000).map((p) => ({ request_id: p.id, row: p.row, label: p.value })),
            );
          labelsPosted += due.length;
        }
        const batch: TrafficRow[] = [];
        while (next < traffic.length && traffic[next].at < hour + 3_600_000) batch.push(traffic[next++]);
        if (batch.length === 0) continue;
        // The hour's customers in one request, as the shop's backend would batch them.
        setProcessTime(hour + 1_800_000);
        const res = await post(`${server.url}/predict`, { model: MODEL, rows: batch.map((r) => r.features) });
        const id = res.headers.get('x-request-id') as string;
        await res.arrayBuffer();
        requests++;
        batch.forEach((r, i) => {
          if (r.label) pending.push({ id, row: i, value: r.label.value, at: r.label.at });
        });
        progress({
          label: 'replay',
          done: next,
          total: traffic.length,
          unit: 'invoices',
          info: iso(hour).slice(0, 10),
        });
      }
      // The week is over: its rows written, the labels closed by now ready for a retraining.
      setProcessTime(boundary + 60_000);
      await server.flush();
      await writeRetrainLabels(options.partition, RETRAIN_FROM, boundary, labelsPath);
      const result = await monitoring.run(MODEL, { asOf: boundary, cause: 'replay', retrain: 'await' });
      const window = windowOf(result);
      windows.push(window);
      if (result.retraining) retrainings.push(result.retraining);
      // The server picks the canary alias up within its refresh interval: the replay waits for it,
      // so the split (seeded) starts at the same request every time.
      const version = result.retraining?.result.canary?.version;
      if (version) await waitForCanary(server.served, version);
      emit({ kind: 'window', window });
    }
    const firstOf = (rules: string[]) => {
      const w = windows.find((x) => x.fired.some((a) => rules.includes(a.rule)));
      // The run judged the window one minute after it ended (the clock set above).
      return w ? { window: w, firedAt: w.end + 60_000, delayMs: w.end + 60_000 - w.start } : undefined;
    };
    const first = firstOf(['psi', 'prediction_drift']);
    const scores = firstOf(['prediction_drift']);
    const trainingEnd = Date.parse(`${TRAINING_PERIOD_END}T00:00:00Z`);
    return {
      reference,
      replay: { from: REPLAY.from, until, requests, rows: traffic.length, labelsPosted },
      windows,
      trainingPeriodAlerts: windows
        .filter((w) => w.end <= trainingEnd)
        .reduce((n, w) => n + w.fired.length, 0),
      ...(first ? { firstDrift: first } : {}),
      ...(scores ? { firstPredictionDrift: scores } : {}),
      retrainings,
      performance: await replayPerformance(config.home, start, end),
    };
  } finally {
    await monitoring.close();
    await server.close();
    setProcessTime(undefined);
  }
}

/** `churn-loop` version 1: the demo's `churn` version, registered again from its run, nothing else. */
async function freshLoopModel(config: KeelConfig, version: string): Promise<void> {
  const monitoring = await Monitoring.open(config);
  const { registry } = monitoring;
  try {
    await monitoring.forget(MODEL);
    if (
      await registry.models.get(MODEL).then(
        () => true,
        () => false,
      )
    )
      await registry.models.delete(MODEL);
    const demo = await registry.versions.get('churn', version);
    const pkg = await registry.versions.getPackage('churn', version);
    await registry.models.create(MODEL, { description: 'the churn model of keel demo --loop' });
    await registry.versions.create({
      name: MODEL,
      source: demo.source,
      runId: demo.run_id,
      features: pkg.features,
      description: `churn version ${version}, served by the loop`,
    });
  } finally {
    await monitoring.close();
  }
}

function windowOf(r: MonitorResult): LoopWindow {
  const served = [...r.versions].sort((a, b) => b.rows - b.canaryRows - (a.rows - a.canaryRows))[0];
  return {
    start: r.window.start,
    end: r.window.end,
    rows: r.rows,
    canaryRows: r.versions.reduce((n, v) => n + v.canaryRows, 0),
    // Only the features whose PSI is judged (not those that grow with the data's age).
    psi: Object.fromEntries(
      (served?.features ?? []).filter((f) => !(f.name in UNJUDGED_PSI)).map((f) => [f.name, f.psi]),
    ),
    predictionP: served?.prediction?.ks?.pValue ?? null,
    breaches: r.breaches.map((b) => `${b.rule} ${b.subject}`),
    fired: r.alerts.fired.map((a) => ({
      id: a.id,
      version: a.version,
      rule: a.rule,
      subject: a.subject,
      value: a.evidence.value,
      threshold: a.threshold,
    })),
    resolved: r.alerts.resolved.map((a) => ({
      id: a.id,
      version: a.version,
      rule: a.rule,
      subject: a.subject,
    })),
    ...(r.retraining ? { retraining: r.retraining } : {}),
  };
}

/** Waits until the server's canary serves `version`. */
async function waitForCanary(served: () => ServedModelInfo[], version: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const canary = served().find((m) => m.name === MODEL)?.canary;
    if (canary?.ready && canary.version === version) return;
    if (Date.now() > deadline)
      throw new KeelError(
        'INTERNAL_ERROR',
        `version ${version} did not start serving as the canary within 60 s`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Realised AUC of the replayed traffic whose labels arrived, per 1,000 labelled rows. */
async function replayPerformance(
  home: string,
  from: number,
  to: number,
): Promise<ChurnLoopResult['performance']> {
  const perf = await realisedPerformance({
    home,
    model: MODEL,
    from,
    to,
    chunk: { rows: 1000 },
    task: 'binary',
  });
  const chunks = perf.versions.flatMap((v) => v.chunks).filter((c) => c.labelled > 0);
  return chunks
    .sort((a, b) => a.start - b.start)
    .map((c) => ({ start: c.start, end: c.end, labelled: c.labelled, rocAuc: c.metrics.roc_auc }));
}
