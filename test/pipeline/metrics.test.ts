import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/pipeline/dvcfile.js';
import { diffMetrics, diffParams, metricsFiles, showMetrics } from '../../src/pipeline/metrics.js';
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
    'm/train.json': '{"loss": 0.5, "nested": {"auc": 0.8}, "note": "text"}',
    'm/extra.yaml': 'acc: 0.7\n',
  });
  git(root, 'init', '-q');
  git(root, 'add', '.');
  git(root, 'commit', '-qm', 'first');
  return root;
}

describe('metrics and params against git revisions', () => {
  it('shows numeric metrics of stage and top-level metrics files, flattened', () => {
    const root = committedProject();
    const p = loadProject(root);
    expect(metricsFiles(p)).toEqual(['m/train.json', 'm/extra.yaml']);
    expect(showMetrics(p)).toEqual({
      'm/train.json': { loss: 0.5, 'nested.auc': 0.8 },
      'm/extra.yaml': { acc: 0.7 },
    });
  });

  it('diffs metrics and tracked params with HEAD', () => {
    const root = committedProject();
    writeFileSync(join(root, 'm/train.json'), '{"loss": 0.25, "nested": {"auc": 0.8}}');
    writeFileSync(join(root, 'params.yaml'), 'train:\n  lr: 0.05\n  epochs: 10\nunused: 2\n');
    writeFileSync(join(root, 'other.yaml'), 'batch: 16\n');
    const p = loadProject(root);
    expect(diffMetrics(p)).toEqual({ 'm/train.json': { loss: { old: 0.5, new: 0.25, diff: -0.25 } } });
    expect(diffParams(p)).toEqual({
      'params.yaml': { 'train.lr': { old: 0.1, new: 0.05, diff: -0.05 } },
      'other.yaml': { batch: { old: 8, new: 16, diff: 8 } },
    });
    expect(Object.keys(diffParams(p, 'HEAD', true)['params.yaml'])).toEqual(['train.lr', 'train.epochs']);
  });

  it('refuses an unknown revision by name', () => {
    const root = committedProject();
    expect(() => diffMetrics(loadProject(root), 'no-such-rev')).toThrow(
      /Git revision 'no-such-rev' does not exist/,
    );
  });
});
