/**
 * @module cli/commands/serve
 * `keel serve [--port 5000] [--host 127.0.0.1] [--auth]`: the MLflow-compatible server until Ctrl-C.
 */
import type { Command } from 'commander';
import { action, parseNumberOption } from '../io.js';

export function registerServeCommand(program: Command): void {
  action(
    program
      .command('serve')
      .description(
        'serve the REST APIs over HTTP: MLflow tracking, registry and artifacts, the Feast feature server',
      )
      .option(
        '-p, --port <port>',
        'port (default 5000, or server.port in keel.yaml)',
        parseNumberOption('--port', true),
      )
      .option('-h, --host <host>', 'interface to bind (default 127.0.0.1)')
      .option('--auth', 'require an API token (keel tokens create) on every route but /health'),
    async (io, opts: { port?: number; host?: string; auth?: boolean }) => {
      // Loaded on use, so other commands do not pay for Fastify at startup.
      const { startServer } = await import('../../server/index.js');
      const server = await startServer(io.config, opts);
      io.emit(
        { url: server.url },
        ({ url }) => `keel serving on ${url} (MLflow: MLFLOW_TRACKING_URI=${url})`,
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
