/**
 * A synthetic stand-in for the UCI Bank Marketing set (Moro et al. 2014, `bank-full.csv`): the same
 * 17 columns, written as UCI writes them (semicolon-separated, every text value and the header
 * quoted), with a seeded generator and a label that depends on call duration, the previous
 * campaign's outcome, contact type, housing loan and month, but not on marital status, so a model
 * can pass the default Production gates (AUC >= 0.85, disparate impact by marital status >= 0.8).
 */
import { writeFileSync } from 'node:fs';
import { random } from '../features/helpers.js';

const JOBS = [
  'admin.',
  'blue-collar',
  'entrepreneur',
  'housemaid',
  'management',
  'retired',
  'self-employed',
  'services',
  'student',
  'technician',
  'unemployed',
  'unknown',
];
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

export const BANK_COLUMNS = [
  'age',
  'job',
  'marital',
  'education',
  'default',
  'balance',
  'housing',
  'loan',
  'contact',
  'day',
  'month',
  'duration',
  'campaign',
  'pdays',
  'previous',
  'poutcome',
  'y',
] as const;

export const BANK_CATEGORICAL = [
  'job',
  'marital',
  'education',
  'default',
  'housing',
  'loan',
  'contact',
  'month',
  'poutcome',
];

/** One row per call: the columns of `BANK_COLUMNS`, numbers as numbers, texts as texts. */
export function bankRows(rows: number, seed: number): Array<Array<string | number>> {
  const r = random(seed);
  const pick = <T>(values: readonly T[]) => values[Math.floor(r() * values.length)];
  const weighted = <T>(pairs: Array<[T, number]>) => {
    let u = r();
    for (const [v, w] of pairs) {
      u -= w;
      if (u < 0) return v;
    }
    return pairs[pairs.length - 1][0];
  };
  const out: Array<Array<string | number>> = [];
  for (let i = 0; i < rows; i++) {
    const age = 18 + Math.floor(r() * 60);
    const job = pick(JOBS);
    const marital = weighted<string>([
      ['married', 0.55],
      ['single', 0.3],
      ['divorced', 0.15],
    ]);
    const education = weighted<string>([
      ['secondary', 0.5],
      ['tertiary', 0.3],
      ['primary', 0.15],
      ['unknown', 0.05],
    ]);
    const defaulted = r() < 0.02 ? 'yes' : 'no';
    const balance = Math.round(-500 + (-Math.log(1 - r()) * 1500 + r() * 200));
    const housing = r() < 0.55 ? 'yes' : 'no';
    const loan = r() < 0.16 ? 'yes' : 'no';
    const contact = weighted<string>([
      ['cellular', 0.65],
      ['telephone', 0.07],
      ['unknown', 0.28],
    ]);
    const day = 1 + Math.floor(r() * 31);
    const month = pick(MONTHS);
    const duration = Math.round(-Math.log(1 - r()) * 260);
    const campaign = 1 + Math.floor(-Math.log(1 - r()) * 2);
    const contacted = r() < 0.2;
    const pdays = contacted ? 1 + Math.floor(r() * 400) : -1;
    const previous = contacted ? 1 + Math.floor(r() * 4) : 0;
    const poutcome = contacted
      ? weighted<string>([
          ['failure', 0.5],
          ['other', 0.2],
          ['success', 0.3],
        ])
      : 'unknown';
    const logit =
      -4 +
      0.014 * duration +
      (poutcome === 'success' ? 3 : 0) +
      (contact === 'unknown' ? -1.5 : 0) +
      (housing === 'yes' ? -1 : 0) +
      (loan === 'yes' ? -0.6 : 0) +
      (['mar', 'sep', 'oct', 'dec'].includes(month) ? 1.5 : 0) +
      (job === 'student' || job === 'retired' ? 0.8 : 0) -
      0.15 * (campaign - 1);
    const y = r() < 1 / (1 + Math.exp(-logit)) ? 'yes' : 'no';
    out.push([
      age,
      job,
      marital,
      education,
      defaulted,
      balance,
      housing,
      loan,
      contact,
      day,
      month,
      duration,
      campaign,
      pdays,
      previous,
      poutcome,
      y,
    ]);
  }
  return out;
}

const quoted = (v: string | number) => (typeof v === 'number' ? String(v) : `"${v}"`);

/** Writes `rows` rows as UCI's `bank-full.csv` is written: `;`, quoted texts, quoted header. */
export function writeBankCsv(path: string, rows: number, seed: number): void {
  const lines = [
    BANK_COLUMNS.map(quoted).join(';'),
    ...bankRows(rows, seed).map((r) => r.map(quoted).join(';')),
  ];
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** The ingest schema of the bank file: every column typed, the label limited to yes/no. */
export const BANK_SCHEMA = `# The bank marketing calls, as UCI ships them (semicolon-separated: sniffed from the header).
columns:
  - { name: age, type: int64, nullable: false, min: 18, max: 100 }
  - { name: job, type: string }
  - { name: marital, type: string, allowed: [married, single, divorced] }
  - { name: education, type: string }
  - { name: default, type: string, allowed: ["yes", "no"] }
  - { name: balance, type: int64 }
  - { name: housing, type: string, allowed: ["yes", "no"] }
  - { name: loan, type: string, allowed: ["yes", "no"] }
  - { name: contact, type: string }
  - { name: day, type: int64, min: 1, max: 31 }
  - { name: month, type: string }
  - { name: duration, type: int64, min: 0 }
  - { name: campaign, type: int64, min: 1 }
  - { name: pdays, type: int64 }
  - { name: previous, type: int64, min: 0 }
  - { name: poutcome, type: string }
  - { name: y, type: string, nullable: false, allowed: ["yes", "no"] }
rules:
  maxDuplicateShare: 0.01
`;

/** The bank project's `train.yaml`: a GBDT of `iterations` trees, audited by marital status. */
export const bankTrainYaml = (iterations: number) => `data:
  dataset: bank
  target: y
  positiveLabel: "yes"
  categorical: [${BANK_CATEGORICAL.join(', ')}]
model:
  kind: gbdt
  params: { iterations: ${iterations} }
evaluation:
  sensitive: [marital]
`;

/** The bank project's `dvc.yaml`: one stage training on the ingested calls. */
export const BANK_DVC_YAML = `stages:
  train:
    cmd: keel train --config train.yaml
    deps: [train.yaml, .keel/offline/bank]
    outs: [model.onnx]
`;
