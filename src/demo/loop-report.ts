/**
 * @module demo/loop-report
 * `keel demo --loop` as text: one line per judged week as the replay goes, then what happened.
 */
import type { Retraining } from '../monitoring/index.js';
import type { ChurnLoopResult, LoopEvent, LoopWindow } from './loop.js';

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
const fix = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? 'n/a' : v.toFixed(d));
const p = (v: number | null) => (v === null ? 'n/a' : v.toExponential(1));

function top(w: LoopWindow): string {
  const judged = Object.entries(w.psi).filter(([, v]) => v !== null) as Array<[string, number]>;
  const [name, value] = judged.sort((a, b) => b[1] - a[1])[0] ?? ['', Number.NaN];
  return name ? `${name} ${fix(value)}` : 'n/a';
}

/** One line per finished week, and the preparation. */
export function formatLoopEvent(e: LoopEvent): string {
  if (e.kind === 'prepared')
    return [
      `6. The loop: replaying ${e.rows.toLocaleString('en-US')} invoices of ${day(Date.parse('2011-04-04'))} .. 2011-12-09 through /predict (the clock moved to each hour), labels to /feedback 90 days later;`,
      `   a monitor judges each week against the training period's traffic (${e.reference.rows.toLocaleString('en-US')} invoices, ${e.reference.from} .. ${e.reference.until})`,
      '   week starting  rows  canary  top PSI                         scores KS p  what happened',
    ].join('\n');
  const w = e.window;
  const events = [
    ...w.fired.map((a) => `ALERT ${a.rule} ${a.subject} (v${a.version})`),
    ...w.resolved.map((a) => `resolved ${a.rule} ${a.subject} (v${a.version})`),
    ...(w.retraining
      ? [`RETRAINED: version ${w.retraining.result.version ?? '-'} (${w.retraining.status})`]
      : []),
  ];
  return `   ${day(w.start)}  ${String(w.rows).padStart(5)}  ${String(w.canaryRows).padStart(6)}  ${top(w).padEnd(30)}  ${p(w.predictionP).padStart(11)}  ${events.join('; ')}`;
}

function retrainingLines(r: Retraining): string[] {
  const x = r.result;
  return [
    `   Retraining ${r.id} (${r.cause}, ${r.status}): ${r.reason}`,
    ...(r.status === 'failed' ? [`     ${r.error}`] : []),
    ...(x.version
      ? [
          `     ran keel train --config (run ${x.runId}), registered version ${x.version}; ${x.promotion ? `${x.promotion.stage}: ${x.promotion.status}` : 'no promotion'}${x.canary ? `; alias '${x.canary.alias}' now names it, and the server's canary sends it 20% of the traffic` : ''}`,
          '     its Production gate report:',
        ]
      : []),
    ...(x.productionGates ?? []).map((g) => `       ${g.passed ? 'pass' : 'FAIL'}  ${g.gate}: ${g.message}`),
  ];
}

/** What the loop showed. */
export function loopSummary(r: ChurnLoopResult): string {
  const quiet = r.windows.filter((w) => w.end <= Date.parse('2011-07-04T00:00:00Z')).length;
  const lines = [
    `   Replayed ${r.replay.rows.toLocaleString('en-US')} invoices in ${r.replay.requests.toLocaleString('en-US')} requests; posted ${r.replay.labelsPosted.toLocaleString('en-US')} labels as their 90 days closed.`,
    `   Training period (${quiet} weeks to 2011-07-04): ${r.trainingPeriodAlerts} alert${r.trainingPeriodAlerts === 1 ? '' : 's'} (the control: traffic like the reference raises none).`,
  ];
  const d = r.firstDrift;
  if (d) {
    const a = d.window.fired.find((x) => x.rule === 'psi' || x.rule === 'prediction_drift');
    lines.push(
      `   First drift: the week of ${day(d.window.start)}: ${a?.rule} on ${a?.subject} = ${fix(a?.value)} against ${a?.threshold}; the alert fired at ${minute(d.firedAt)} UTC, ${(d.delayMs / 86_400_000).toFixed(2)} days after the window opened (detection delay: one window).`,
    );
  } else lines.push('   No drift alert fired.');
  for (const x of r.retrainings) lines.push(...retrainingLines(x));
  const s = r.firstPredictionDrift;
  if (s)
    lines.push(
      `   The November-December peak: the model's scores drift from the week of ${day(s.window.start)} (KS p ${p(s.window.predictionP)} against the training period's scores; ${s.window.rows} invoices that week).`,
    );
  const aucs = r.performance
    .filter((c) => c.labelled >= 500 && c.rocAuc !== null)
    .map((c) => c.rocAuc as number);
  if (aucs.length)
    lines.push(
      `   Realised AUC once labels arrived: ${fix(Math.min(...aucs))} .. ${fix(Math.max(...aucs))} per 1,000 labelled invoices (labels exist for invoices up to 2011-09-10).`,
    );
  return lines.join('\n');
}
