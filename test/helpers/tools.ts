/**
 * Command-line tools from Debian's packages that some tests run (promtool, amtool, shellcheck):
 * found on the PATH, the test skipped when missing, and a failure when CI=true (.ci/run installs
 * them).
 */
import { spawnSync } from 'node:child_process';

const inCi = process.env.CI === 'true';

/**
 * The tool's path when it is installed.
 * @throws when CI=true and it is not.
 */
export function installedTool(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  if (inCi) throw new Error(`${name} is not installed, and CI=true requires it (.ci/run installs it)`);
  return undefined;
}
