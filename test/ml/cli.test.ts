import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keel as runKeel } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { writeSyntheticCsv } from './synthetic.js';

const keel = (args: string[], cwd: string) => runKeel(args, { cwd });

describe('keel train / keel evaluate', () => {
  // Two child processes that each load DuckDB and ONNX Runtime: slow on a busy machine.
  it('trains to model.onnx, evaluates with --json, and exits 7 when a threshold fails', {
    timeout: 180_000,
  }, async () => {
    const dir = tempDir();
    writeSyntheticCsv(dir);
    writeFileSync(
      join(dir, 'train.yaml'),
      'data: { path: data.csv, target: label, positiveLabel: "yes", features: [a, b, c] }\nsplit: { column: split }\nmodel: { kind: gbdt, params: { iterations: 10 } }\n',
    );
    const train = await keel(['train', '--config', 'train.yaml', '--json'], dir);
    expect(train.stderr).toBe('');
    expect(train.code).toBe(0);
    const trained = JSON.parse(train.stdout);
    expect(trained.modelPath).toBe(join(dir, 'model.onnx'));
    expect(existsSync(join(dir, 'model.onnx'))).toBe(true);

    writeFileSync(join(dir, 'th.yaml'), 'roc_auc: { min: 0.999 }\n');
    const evaluate = await keel(
      [
        'evaluate',
        '--model',
        'model.onnx',
        '--data',
        'data.csv',
        '--thresholds',
        'th.yaml',
        '--out',
        'eval',
        '--json',
      ],
      dir,
    );
    expect(evaluate.code).toBe(7);
    const doc = JSON.parse(evaluate.stdout);
    expect(doc.error_code).toBe('FAILED_PRECONDITION');
    expect(doc.message).toMatch(/roc_auc=0\.\d+/);
    expect(doc.details.result.checks[0]).toMatchObject({ metric: 'roc_auc', passed: false });
    expect(existsSync(join(dir, 'eval', 'metrics.json'))).toBe(true);
  });
});
