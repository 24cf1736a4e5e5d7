/**
 * Every DVC golden fixture (recorded from real DVC 3.64 in shared/specs/dvc-golden, and Keel's own
 * in test/fixtures/dvc-golden) run through its runner with the built `keel` in place of `dvc`:
 * lock bytes, `.dir` objects, exit status and JSON must match.
 */
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand } from './helpers.js';

const repo = resolve(import.meta.dirname, '..', '..');
const OWN = join(repo, 'test', 'fixtures', 'dvc-golden');
const RUNNER = join(OWN, 'run-fixture.sh');
const CLI = join(repo, 'dist', 'cli', 'main.js');

/** shared/specs/dvc-golden beside the clone (CI) or the work tree, or KEEL_DVC_GOLDEN. */
function sharedDir(): string | undefined {
  const candidates = [
    process.env.KEEL_DVC_GOLDEN,
    join(repo, '..', 'shared'),
    join(repo, '..', '..', 'shared'),
  ];
  for (const c of candidates) {
    if (!c) continue;
    const dir = c.endsWith('dvc-golden') ? c : join(c, 'specs', 'dvc-golden');
    if (existsSync(join(dir, 'README.md'))) return dir;
  }
  return undefined;
}

const fixturesIn = (dir: string) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'steps.sh')))
    .map((d) => join(dir, d.name));

/**
 * The shared legacy-dvc2-lock lost its two outputs (its own .gitignore lists them) when it was
 * stored; DVC recorded it with them present. The run uses a copy with them put back.
 */
function prepared(fixture: string): string {
  if (!fixture.endsWith('/legacy-dvc2-lock') || existsSync(join(fixture, 'input', 'o.txt'))) return fixture;
  const copy = join(mkdtempSync(join(tmpdir(), 'keel-golden-')), 'legacy-dvc2-lock');
  cpSync(fixture, copy, { recursive: true });
  chmodSync(join(copy, 'input'), 0o755);
  for (const out of ['o.txt', 't.txt']) writeFileSync(join(copy, 'input', out), 'a\r\nb\r\nx\r\ny\r\n');
  return copy;
}

async function runFixture(fixture: string): Promise<{ code: number | null; output: string }> {
  const out = join(mkdtempSync(join(tmpdir(), 'keel-golden-out-')), 'out');
  const r = await runCommand('bash', [RUNNER, `node ${CLI}`, prepared(fixture), out], {
    cwd: dirname(RUNNER),
    env: { TOOL_KIND: 'keel' },
  });
  return { code: r.code, output: r.stdout + r.stderr };
}

const shared = sharedDir();
if (!shared && process.env.CI === 'true') {
  throw new Error('shared/specs/dvc-golden is not beside the clone: set KEEL_DVC_GOLDEN to its folder');
}
const fixtures = [...(shared ? fixturesIn(shared) : []), ...fixturesIn(OWN)];

describe('DVC golden fixtures with keel in place of dvc', { timeout: 300_000 }, () => {
  it.concurrent.each(fixtures)('%s', async (fixture) => {
    const { code, output } = await runFixture(fixture);
    expect(output, output).toMatch(/^PASS /m);
    expect(code).toBe(0);
  });
});
