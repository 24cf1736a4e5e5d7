/**
 * The Prometheus tools from Debian (`prometheus`, `prometheus-alertmanager`), for the alerting
 * tests: found on the PATH, skipped when missing, and a failure when CI=true (.ci/run installs
 * them). `startAlertmanager` runs a real Alertmanager on a loopback port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './temp.js';
import { installedTool } from './tools.js';

/** The tool's path when it is installed (a failure when CI=true and it is not). */
export const promTool = (name: 'promtool' | 'prometheus-alertmanager'): string | undefined =>
  installedTool(name);

/** A free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RunningAlertmanager {
  url: string;
  port: number;
  child: ChildProcess;
  stop: () => Promise<void>;
}

/** Starts Alertmanager on `port` (default a free one) and waits until it is ready. */
export async function startAlertmanager(binary: string, port?: number): Promise<RunningAlertmanager> {
  const dir = tempDir('keel-am-');
  const config = join(dir, 'alertmanager.yml');
  // Notifications go nowhere: the tests read the alerts back from the API.
  writeFileSync(config, 'route:\n  receiver: nowhere\nreceivers:\n  - name: nowhere\n');
  const listen = port ?? (await freePort());
  const child = spawn(
    binary,
    [
      `--config.file=${config}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${listen}`,
      '--cluster.listen-address=',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const url = `http://127.0.0.1:${listen}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`Alertmanager exited ${child.exitCode}: ${stderr.slice(-2000)}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Alertmanager did not get ready within 60 s: ${stderr.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    port: listen,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
