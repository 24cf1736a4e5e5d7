/**
 * @module cli/commands/serve
 * `keel serve [--port 5000] [--host 127.0.0.1] [--auth] [--model <uri>]... [--canary <uri>
 * --canary-percent N --canary-sticky] [--shadow <uri>] [--refresh-interval ms] [--features-at time]
 * [--no-scheduler] [--workers N] [--drain ms]`: the MLflow-compatible server, the models it serves
 * online, and (holding the scheduler's lease) keel.yaml's monitors and schedules, until Ctrl-C or
 * SIGTERM, which drain it: not ready, connections closed as their answers go, requests in flight
 * finished, logs written. With several workers, each is such a server on the one port.
 * `keel ui [--url <url>] [--no-open]`: the address of the web UI that server serves at `/`, opened
 * in a browser on a TTY.
 */
import { spawn } from 'node:child_process';
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { createLogger, KeelError } from '../../core/index.js';
import type { ModelEntry } from '../../serving/index.js';
import { action, parseNumberOption, repeatOption } from '../io.js';

interface ServeFlags {
  port?: number;
  host?: string;
  auth?: boolean;
  model?: string[];
  canary?: string;
  canaryPercent: number;
  canarySticky?: boolean;
  shadow?: string;
  refreshInterval?: number;
  featuresAt?: string;
  scheduler: boolean;
  workers?: number;
  drain: number;
}

/** What `keel serve` prints once it listens (`--json`: this document). */
interface Announcement {
  url: string;
  models: string[];
  canary: { uri: string; percent: number; serving: boolean; version: string | null; error?: string } | null;
  shadow: { uri: string; serving: boolean; version: string | null; error?: string } | null;
}

function announcementText({ url, models, canary, shadow }: Announcement): string {
  return [
    `keel serving on ${url} (MLflow: MLFLOW_TRACKING_URI=${url}; readiness: GET /ready)`,
    ...(models.length > 0
      ? [`online: ${models.join(', ')} (POST /invocations, /v2/models/<name>/infer, /predict)`]
      : []),
    ...(canary
      ? [
          canary.serving
            ? `canary: ${canary.uri} (version ${canary.version}) takes ${canary.percent}% of the traffic`
            : `canary: ${canary.uri} is not serving: it did not load (${canary.error ?? 'unknown error'}); it takes no traffic until a refresh loads it`,
        ]
      : []),
    ...(shadow
      ? [
          shadow.serving
            ? `shadow: ${shadow.uri} (version ${shadow.version}) scores a copy of every request, logged, never answered`
            : `shadow: ${shadow.uri} is not serving (${shadow.error ?? 'unknown error'}); it gets no copies until a refresh loads a version that can take them`,
        ]
      : []),
  ].join('\n');
}

/** The models to serve; a canary and a shadow go with the one `--model`. */
function modelEntries(opts: ServeFlags): ModelEntry[] {
  const models = opts.model ?? [];
  if (opts.canary === undefined && opts.shadow === undefined) return models;
  if (models.length !== 1)
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `${opts.canary === undefined ? '--shadow' : '--canary'} needs exactly one --model to ${opts.canary === undefined ? 'copy' : 'split'} traffic with`,
    );
  return [
    {
      uri: models[0],
      ...(opts.canary === undefined
        ? {}
        : { canary: { uri: opts.canary, percent: opts.canaryPercent, sticky: opts.canarySticky } }),
      ...(opts.shadow === undefined ? {} : { shadow: { uri: opts.shadow } }),
    },
  ];
}

/** The platform's command that opens a URL in the desktop's browser. */
const OPENER: Partial<Record<NodeJS.Platform, string>> = {
  darwin: 'open',
  win32: 'explorer',
  linux: 'xdg-open',
};

/** Opens `url` in a browser, never failing the command: without a desktop the printed URL is the way in. */
function openBrowser(url: string): boolean {
  const opener = OPENER[process.platform] ?? 'xdg-open';
  try {
    const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}

function registerUiCommand(program: Command): void {
  action(
    program
      .command('ui')
      .description("print the web UI's address (keel serve serves it at /) and open it in a browser on a TTY")
      .option('--url <url>', 'the server (default: server.host and server.port of keel.yaml)')
      .option('--no-open', 'only print the address'),
    async (io, opts: { url?: string; open: boolean }) => {
      const { host, port } = io.config.server;
      const base = opts.url ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      let url: string;
      try {
        url = new URL('/', base).href;
      } catch {
        throw new KeelError('INVALID_PARAMETER_VALUE', `--url is not a URL: ${base}`);
      }
      const opened = opts.open && !io.json && process.stdout.isTTY === true && openBrowser(url);
      io.emit({ url, opened }, () =>
        [url, opened ? '' : `(start the server with keel serve, then open this address)`]
          .filter(Boolean)
          .join('\n'),
      );
    },
  );
}

export function registerServeCommand(program: Command): void {
  action(
    program
      .command('serve')
      .description(
        'serve the REST APIs over HTTP: MLflow tracking, registry and artifacts, the Feast feature server, and with --model online predictions (MLflow /invocations, OIP v2, /predict)',
      )
      .option(
        '-p, --port <port>',
        'port (default 5000, or server.port in keel.yaml)',
        parseNumberOption('--port', true),
      )
      .option('--host <host>', 'interface to bind (default 127.0.0.1, or server.host in keel.yaml)')
      .option('--auth', 'require an API token (keel tokens create) on every route but the health checks')
      .option(
        '-m, --model <uri>',
        'serve this registered model online, e.g. models:/churn@champion (repeatable)',
        repeatOption,
      )
      .option(
        '--canary <uri>',
        'a version taking --canary-percent of the --model traffic, e.g. models:/churn@challenger',
      )
      .option(
        '--canary-percent <n>',
        'share of requests for the canary, 0-100',
        parseNumberOption('--canary-percent'),
        10,
      )
      .option('--canary-sticky', 'keep each entity (request key) on one side of the split')
      .option(
        '--shadow <uri>',
        'a version scoring a copy of every request the --model answers: its scores are logged (marked shadow), never answered, e.g. models:/churn@shadow',
      )
      .option(
        '--refresh-interval <ms>',
        're-resolve aliases and stages this often to serve promotions (default 2000; 0 never)',
        parseNumberOption('--refresh-interval', true),
      )
      .option(
        '--features-at <time>',
        "judge online features' max age as of this ISO-8601 time instead of now (replays, demos)",
      )
      .option('--no-scheduler', "never run keel.yaml's monitors and schedules in this server")
      .option(
        '--workers <n>',
        'server processes sharing the port, each with its own model sessions (default: one per core)',
        parseNumberOption('--workers', true),
      )
      .option(
        '--drain <ms>',
        'on SIGTERM/SIGINT, answer not ready and close connections this long before stopping',
        parseNumberOption('--drain', true),
        1000,
      ),
    async (io, opts: ServeFlags) => {
      const entries = modelEntries(opts);
      const workers = opts.workers ?? availableParallelism();
      if (!Number.isInteger(workers) || workers < 1)
        throw new KeelError(
          'INVALID_PARAMETER_VALUE',
          `--workers must be a whole number >= 1, got ${workers}`,
        );
      if (opts.drain < 0)
        throw new KeelError('INVALID_PARAMETER_VALUE', `--drain must be >= 0 ms, got ${opts.drain}`);
      if (workers > 1 && cluster.isPrimary) {
        // The workers run this same command line; the primary only starts, announces and stops them.
        const { runPrimary } = await import('../../server/cluster.js');
        process.exitCode = await runPrimary<Announcement>({
          workers,
          logger: createLogger(io.config.logLevel),
          onReady: (announcement) => io.emit(announcement, announcementText),
        });
        return;
      }
      const { toEpochMs } = await import('../../features/index.js');
      const featuresAt =
        opts.featuresAt === undefined ? undefined : toEpochMs(opts.featuresAt, '--features-at');
      // Loaded on use, so other commands do not pay for Fastify at startup.
      const { startServer, tuneHeapForServing } = await import('../../server/index.js');
      tuneHeapForServing();
      const { workerReady, untilShutdown } = await import('../../server/cluster.js');
      try {
        const server = await startServer(io.config, {
          port: opts.port,
          host: opts.host,
          auth: opts.auth,
          models: entries,
          refreshIntervalMs: opts.refreshInterval,
          featuresAt,
          scheduler: opts.scheduler,
          clusterWorker: cluster.isWorker,
        });
        // The canary and the shadow are announced as they are: one that did not load takes no traffic.
        const canary = server.served().find((m) => m.canary)?.canary;
        const shadow = server.served().find((m) => m.shadow)?.shadow;
        const announcement: Announcement = {
          url: server.url,
          models: opts.model ?? [],
          canary: canary
            ? {
                uri: canary.uri,
                percent: canary.percent,
                serving: canary.ready,
                version: canary.version,
                ...(canary.lastError ? { error: canary.lastError.message } : {}),
              }
            : null,
          shadow: shadow
            ? {
                uri: shadow.uri,
                serving: shadow.ready,
                version: shadow.version,
                ...(shadow.lastError ? { error: shadow.lastError.message } : {}),
              }
            : null,
        };
        if (cluster.isWorker) workerReady(announcement);
        else io.emit(announcement, announcementText);
        await untilShutdown();
        await server.drain(opts.drain);
        await server.close();
      } finally {
        // A worker's channel to the primary would keep it alive, after a failed start too.
        cluster.worker?.disconnect();
      }
    },
  );
  registerUiCommand(program);
}
