/**
 * @module cli/commands/serve
 * `keel serve [--port 5000] [--host 127.0.0.1] [--auth] [--model <uri>]...`: the MLflow-compatible
 * server, and the models it serves online, until Ctrl-C.
 */
import type { Command } from 'commander';
import { action, parseNumberOption, repeatOption } from '../io.js';

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
      .option('-h, --host <host>', 'interface to bind (default 127.0.0.1)')
      .option('--auth', 'require an API token (keel tokens create) on every route but the health checks')
      .option(
        '-m, --model <uri>',
        'serve this registered model online, e.g. models:/churn@champion (repeatable)',
        repeatOption,
      ),
    async (io, opts: { port?: number; host?: string; auth?: boolean; model?: string[] }) => {
      // Loaded on use, so other commands do not pay for Fastify at startup.
      const { startServer } = await import('../../server/index.js');
      const server = await startServer(io.config, { ...opts, models: opts.model });
      const models = opts.model ?? [];
      io.emit({ url: server.url, models }, ({ url }) =>
        [
          `keel serving on ${url} (MLflow: MLFLOW_TRACKING_URI=${url})`,
          ...(models.length > 0
            ? [`online: ${models.join(', ')} (POST /invocations, /v2/models/<name>/infer, /predict)`]
            : []),
        ].join('\n'),
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
    },
  );
}
