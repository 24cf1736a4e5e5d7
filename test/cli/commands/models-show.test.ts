/**
 * `keel models show <name> <version>` names the input columns a serving client feeds: their order,
 * types and a categorical column's categories (a code is its position), as OIP metadata does; a
 * foreign model without names is fed by position. A version a server refused to serve says so.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/core/index.js';
import { Registry } from '../../../src/registry/index.js';
import { keel } from '../../helpers/cli.js';
import { writeLogisticModel } from '../../helpers/onnx.js';
import { tempDir } from '../../helpers/tracking.js';
import { COLOURS, registerModel, trainModel } from '../../serving/fixtures.js';

describe('keel models show <name> <version>', () => {
  const cwd = tempDir();
  beforeAll(async () => {
    const registry = await Registry.open(loadConfig({ cwd, env: {} }));
    await registerModel(registry, trainModel(), tempDir(), 'colours');
    await registry.models.create('foreign');
    await registry.versions.create({ name: 'foreign', source: writeLogisticModel(tempDir()) });
    await registry.versions.create({ name: 'foreign', source: writeLogisticModel(tempDir()) });
    // As a server records a version it refused to swap to.
    await registry.recordServingRefusal('foreign', 2, {
      from: '1',
      role: 'primary',
      reason:
        'foreign version 2 cannot take the requests version 1 serves: it takes 3 values a row where version 1 takes 4',
    });
    await registry.close();
  });

  it('lists the columns with their types and categories, in text and JSON', {
    timeout: 120_000,
  }, async () => {
    const text = await keel(['models', 'show', 'colours', '1'], { cwd });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(
      [
        "columns (3, in the input tensor's order; a category's code is its position):",
        '  a       number',
        '  colour  category ("blue", "green", "red")',
        '  b       number',
      ].join('\n'),
    );
    const json = await keel(['models', 'show', 'colours', '1', '--json'], { cwd });
    expect(JSON.parse(json.stdout).columns).toEqual([
      { name: 'a', type: 'number' },
      { name: 'colour', type: 'category', categories: COLOURS },
      { name: 'b', type: 'number' },
    ]);
    const foreign = await keel(['models', 'show', 'foreign', '1'], { cwd });
    expect(foreign.stdout).toContain('columns: none named: fed by position (3 values a row)');
    expect(foreign.stdout).not.toContain('serving refused');
    const refused = await keel(['models', 'show', 'foreign', '2'], { cwd });
    expect(refused.stdout).toMatch(
      /^serving refused: \d{4}-\d\d-\d\dT[\d:.]+Z primary \(serving version 1\): foreign version 2 cannot take the requests version 1 serves: it takes 3 values a row where version 1 takes 4$/m,
    );
  });
});
