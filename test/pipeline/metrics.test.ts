import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/pipeline/dvcfile.js';
import {
  diffMetrics,
  diffParams,
  diffToPy,
  filesToPy,
  metricsFiles,
  showMetrics,
} from '../../src/pipeline/metrics.js';
import { pyJsonDumps } from '../../src/pipeline/pyvalue.js';
import { diffTable, metricsTable, pyRound } from '../../src/pipeline/tabulate.js';
import { makeProject } from './helpers.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], {
    cwd,
    stdio: 'pipe',
  });

function committedProject(): string {
  const root = makeProject({
    'params.yaml': 'train:\n  lr: 0.1\n  epochs: 10\nunused: 1\n',
    'dvc.yaml':
      'stages:\n  train:\n    cmd: "true"\n    params: [train.lr, train.epochs]\n    metrics:\n      - m/train.json:\n          cache: false\nmetrics: [m/extra.yaml]\nparams: [other.yaml]\n',
    'other.yaml': 'batch: 8\n',
    'm/train.json': '{"loss": 0.5, "nested": {"auc": 0.8}, "note": "text", "list": [1]}',
    'm/extra.yaml': 'acc: 0.7\n',
  });
  git(root, 'init', '-q');
  git(root, 'add', '.');
  git(root, 'commit', '-qm', 'first');
  return root;
}

describe('metrics and params against git revisions', () => {
  it('shows metrics files whole (lists dropped) in the JSON and the table DVC prints', () => {
    const root = committedProject();
    expect(metricsFiles(loadProject(root))).toEqual(['m/extra.yaml', 'm/train.json']);
    const data = showMetrics(root, join(root, '.keel'));
    expect(pyJsonDumps(filesToPy(data))).toBe(
      '{"": {"data": {"m/extra.yaml": {"data": {"acc": 0.7}}, "m/train.json": {"data": {"loss": 0.5, "nested": {"auc": 0.8}, "note": "text"}}}}}',
    );
    expect(metricsTable(data)).toBe(
      'Path          acc    loss    nested.auc    note\nm/extra.yaml  0.7    -       -             -\nm/train.json  -      0.5     0.8           text',
    );
  });

  it('diffs metrics and params (every params.yaml key, only tracked keys elsewhere) with HEAD', () => {
    const root = committedProject();
    writeFileSync(join(root, 'm/train.json'), '{"loss": 0.25, "nested": {"auc": 0.8}}');
    writeFileSync(join(root, 'params.yaml'), 'train:\n  lr: 0.05\n  epochs: 10\nunused: 2\n');
    writeFileSync(join(root, 'other.yaml'), 'batch: 16\n');
    const home = join(root, '.keel');
    expect(pyJsonDumps(diffToPy(diffMetrics(root, home)))).toBe(
      '{"m/train.json": {"loss": {"old": 0.5, "new": 0.25, "diff": -0.25}, "note": {"old": "text", "new": null}}}',
    );
    const params = diffParams(root);
    expect(pyJsonDumps(diffToPy(params))).toBe(
      '{"params.yaml": {"train.lr": {"old": 0.1, "new": 0.05, "diff": -0.05}, "unused": {"old": 1, "new": 2, "diff": 1}}, "other.yaml": {"batch": {"old": 8, "new": 16, "diff": 8}}}',
    );
    expect(diffTable(params, { title: 'Param', changes: false, markdown: true })).toBe(
      '| Path        | Param    | HEAD   | workspace   |\n|-------------|----------|--------|-------------|\n| params.yaml | train.lr | 0.1    | 0.05        |\n| params.yaml | unused   | 1      | 2           |\n| other.yaml  | batch    | 8      | 16          |\n',
    );
    expect([...diffParams(root, 'HEAD', undefined, true).get('params.yaml')!.keys()].sort()).toEqual([
      'train.epochs',
      'train.lr',
      'unused',
    ]);
  });

  it('refuses an unknown revision by name', () => {
    const root = committedProject();
    expect(() => diffMetrics(root, join(root, '.keel'), 'no-such-rev')).toThrow(
      /Git revision 'no-such-rev' does not exist/,
    );
  });

  it("rounds as Python's round() does: half-even on the exact binary value", () => {
    expect(pyRound(2.675, 2)).toBe(2.67);
    expect(pyRound(0.125, 2)).toBe(0.12);
    expect(pyRound(0.375, 2)).toBe(0.38);
    expect(pyRound(-1.23456789, 5)).toBe(-1.23457);
    expect(pyRound(12345.678, 5)).toBe(12345.678);
  });
});
