/**
 * Signatures read from the ONNX file itself, for Keel-built and sklearn-shaped (skl2onnx) models,
 * and the rejection of files ONNX Runtime cannot load.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSignature } from '../../src/registry/index.js';
import { sklearnLikeModelBytes, writeLogisticModel } from '../helpers/onnx.js';
import { tempDir } from '../helpers/tracking.js';

describe('readSignature', () => {
  const dir = tempDir();

  it('reads input and output names, types and shapes', async () => {
    expect(await readSignature(writeLogisticModel(dir, [1, 2]))).toEqual({
      inputs: [{ name: 'features', type: 'float32', shape: ['N', 2] }],
      outputs: [{ name: 'probability', type: 'float32', shape: ['N', 1] }],
    });
  });

  it('reads a foreign sklearn-shaped model, non-tensor outputs included', async () => {
    const path = join(dir, 'skl.onnx');
    writeFileSync(path, sklearnLikeModelBytes());
    expect(await readSignature(path)).toEqual({
      inputs: [{ name: 'float_input', type: 'float32', shape: ['N', 3] }],
      outputs: [
        { name: 'label', type: 'int64', shape: ['N'] },
        { name: 'output_probability', type: 'non-tensor', shape: [] },
      ],
    });
  });

  it('rejects a file that is not an ONNX model, naming it', async () => {
    const junk = join(dir, 'model.onnx.bak');
    writeFileSync(junk, Buffer.from([0x08, 0x07, 0xff, 0xff, 0x00, 0x13]));
    await expect(readSignature(junk)).rejects.toMatchObject({
      code: 'INVALID_PARAMETER_VALUE',
      message: expect.stringContaining(junk),
    });
    await expect(readSignature(join(dir, 'missing.onnx'))).rejects.toMatchObject({
      code: 'INVALID_PARAMETER_VALUE',
      message: expect.stringContaining('does not exist'),
    });
  });
});
