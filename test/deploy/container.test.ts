// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Compose interpolates ${VAR:-default}, the text under test.
/**
 * deploy/Dockerfile and deploy/docker-compose.yml, checked by the tools that exist here (no Docker
 * engine does): the Dockerfile by dockerfile-utils' validator and its RUN lines by shellcheck, the
 * Compose file by dclint (the Compose specification's JSON schema plus its rules), the Prometheus
 * and Alertmanager configurations it mounts by promtool and amtool. The HEALTHCHECK and the Compose
 * readiness check run, as written, against a real `keel serve`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { validate as validateDockerfile } from 'dockerfile-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type BackgroundKeel, runProcess, startKeel } from '../helpers/cli.js';
import { cliParse, hasCommand } from '../helpers/cli-parse.js';
import { tempDir } from '../helpers/temp.js';
import { installedTool } from '../helpers/tools.js';

const REPO = join(import.meta.dirname, '..', '..');
const DEPLOY = join(REPO, 'deploy');
const dockerfileText = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(dockerfileText);
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML read by the paths the Compose file has; dclint checks its schema.
type Yaml = any;
const compose = parseYaml(readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Yaml>;
};

/** The instructions of each stage, in order, with the stage's shell for its RUN lines. */
function stages() {
  const out: Array<{ name: string | undefined; instructions: Array<{ keyword: string; args: string }> }> = [];
  for (const i of dockerfile.getInstructions()) {
    if (i.getKeyword() === 'FROM') out.push({ name: i.getArguments().at(-1)?.getValue(), instructions: [] });
    out.at(-1)?.instructions.push({ keyword: i.getKeyword(), args: i.getArgumentsContent() ?? '' });
  }
  return out;
}

/** An exec-form instruction's words (`["a", "b"]`). */
const execForm = (args: string): string[] => JSON.parse(args) as string[];

describe('deploy/Dockerfile', () => {
  it("passes dockerfile-utils' validation, which finds a broken copy's faults", () => {
    expect(validateDockerfile(dockerfileText).map((d) => d.message)).toEqual([]);
    const broken = dockerfileText
      .replace('HEALTHCHECK --interval=30s', 'HEALTHCHECK --intervl=30s')
      .replace('EXPOSE 5000', 'EXPOSE http');
    expect(validateDockerfile(broken).map((d) => d.message)).toEqual(
      expect.arrayContaining(['Unknown flag: intervl', 'Invalid containerPort: http']),
    );
  });

  it('builds in one stage and runs as a non-root user from Node 20 slim in another, with a HEALTHCHECK on /health', () => {
    const arg = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfileText)?.[1];
    expect(arg).toMatch(/^node:20(\.\d+)*-[a-z]+-slim$/);
    const [build, runtime] = stages();
    expect(stages()).toHaveLength(2);
    expect(build.name).toBe('build');
    const buildRuns = build.instructions
      .filter((i) => i.keyword === 'RUN')
      .map((i) => i.args)
      .join('\n');
    // The native modules are built (better-sqlite3 compiles) and each is loaded once in the image.
    expect(buildRuns).toMatch(/npm ci/);
    for (const native of ['better-sqlite3', 'onnxruntime-node', '@duckdb/node-api'])
      expect(buildRuns).toContain(native);
    const kw = runtime.instructions.map((i) => i.keyword);
    const user = runtime.instructions.find((i) => i.keyword === 'USER')?.args ?? '';
    expect(user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(kw.indexOf('USER')).toBeLessThan(kw.indexOf('ENTRYPOINT'));
    expect(runtime.instructions.some((i) => i.keyword === 'RUN' && /g\+\+|apt-get/.test(i.args))).toBe(false);
    const health = runtime.instructions.find((i) => i.keyword === 'HEALTHCHECK')?.args ?? '';
    expect(health).toContain('http://127.0.0.1:5000/health');
  });

  it("loads each native module as the build stage's checks do, with this lockfile's packages", async () => {
    const runs = stages()[0]
      .instructions.filter((i) => i.keyword === 'RUN')
      .map((i) => i.args)
      .join(' ');
    const checks = [...runs.matchAll(/node -e "([^"]+)"/g)].map((m) => m[1]);
    expect(checks).toHaveLength(3);
    for (const script of checks) {
      const res = await runProcess(process.execPath, ['-e', script], { cwd: REPO });
      expect(res.code, `${script}\n${res.stderr}`).toBe(0);
    }
  });

  it('runs a command line the real CLI parses', async () => {
    const [, runtime] = stages();
    const entry = execForm(runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT')?.args ?? '[]');
    expect(entry).toEqual(['node', '/app/dist/cli/main.js']);
    const cmd = execForm(runtime.instructions.find((i) => i.keyword === 'CMD')?.args ?? '[]');
    expect(await cliParse(cmd)).toEqual({ command: ['serve'], unknown: [] });
  });

  it('copies only files the build context has and .dockerignore lets through', () => {
    const ignored = readFileSync(join(REPO, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', 'dist', '.keel', '.git']));
    const copies = dockerfile.getCOPYs().filter((c) => !c.getFromFlag());
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const sources = copy
        .getArguments()
        .slice(0, -1)
        .map((a) => a.getValue());
      for (const source of sources) {
        expect(existsSync(join(REPO, source)), source).toBe(true);
        expect(ignored, source).not.toContain(source);
        expect(ignored, source).not.toContain(`**/${source}`);
      }
    }
  });

  const shellcheck = installedTool('shellcheck');
  it.skipIf(!shellcheck)('has RUN lines shellcheck finds nothing in', async () => {
    const dir = tempDir('keel-dockerfile-sh-');
    let n = 0;
    for (const stage of stages()) {
      const shell = stage.instructions.find((i) => i.keyword === 'SHELL');
      const dialect = shell && execForm(shell.args)[0].endsWith('bash') ? 'bash' : 'sh';
      for (const run of stage.instructions.filter((i) => i.keyword === 'RUN')) {
        const file = join(dir, `run-${n++}.sh`);
        writeFileSync(file, `${run.args}\n`);
        const res = await runProcess(shellcheck as string, ['--shell', dialect, '--format', 'gcc', file], {
          cwd: dir,
        });
        expect(res.stdout, run.args).toBe('');
        expect(res.code, run.args).toBe(0);
      }
    }
    expect(n).toBe(3);
    // The same check on a faulty line.
    writeFileSync(join(dir, 'bad.sh'), 'cd $HOME && rm -rf $TARGET/*\n');
    const bad = await runProcess(
      shellcheck as string,
      ['--shell', 'sh', '--format', 'gcc', join(dir, 'bad.sh')],
      {
        cwd: dir,
      },
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toMatch(/SC2086/);
  });
});

describe('the health checks, run as written against a real keel serve', () => {
  let server: BackgroundKeel;
  let port: string;
  beforeAll(async () => {
    server = startKeel(['serve', '--port', '0', '--no-scheduler'], { cwd: tempDir('keel-healthcheck-') });
    [, port] = (await server.waitFor(/keel serving on http:\/\/127\.0\.0\.1:(\d+)/)) as RegExpExecArray;
  });
  afterAll(async () => {
    await server?.stop();
  });

  const onPort = (argv: string[], p: string) =>
    argv.map((a) => a.replace('127.0.0.1:5000', `127.0.0.1:${p}`));
  const imageCheck = () =>
    execForm(
      /^\s*CMD (\[.*\])$/m.exec(stages()[1].instructions.find((i) => i.keyword === 'HEALTHCHECK')!.args)![1],
    );

  it("the image's HEALTHCHECK passes on a live server and fails on a closed port", async () => {
    const [file, ...args] = onPort(imageCheck(), port);
    expect(file).toBe('node');
    const up = await runProcess(process.execPath, args, { cwd: REPO });
    expect(up.code, up.stderr).toBe(0);
    const [, ...closed] = onPort(imageCheck(), '1');
    expect((await runProcess(process.execPath, closed, { cwd: REPO })).code).toBe(1);
  });

  it("Compose's readiness check of serve passes once the database answers", async () => {
    const [kind, file, ...args] = onPort(compose.services.serve.healthcheck.test, port);
    expect([kind, file]).toEqual(['CMD', 'node']);
    expect(args.join(' ')).toContain('/ready');
    const res = await runProcess(process.execPath, args, { cwd: REPO });
    expect(res.code, res.stderr).toBe(0);
  });
});

describe('deploy/docker-compose.yml', () => {
  const dclint = join(REPO, 'node_modules', 'dclint', 'bin', 'dclint.cjs');
  const lint = async (file: string) => {
    const res = await runProcess(process.execPath, [dclint, file, '-f', 'json', '--color', 'false'], {
      cwd: REPO,
    });
    return {
      code: res.code,
      messages: (JSON.parse(res.stdout) as Array<{ messages: Array<{ rule: string; message: string }> }>)[0]
        .messages,
    };
  };

  it("passes dclint's schema and rules without a message, and a broken copy does not", async () => {
    expect(await lint(join(DEPLOY, 'docker-compose.yml'))).toEqual({ code: 0, messages: [] });
    const dir = tempDir('keel-compose-');
    const broken = readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8').replace(
      '    command: [worker]\n',
      '    command: [worker]\n    replicas: 2\n',
    );
    writeFileSync(join(dir, 'docker-compose.yml'), broken);
    const res = await lint(join(dir, 'docker-compose.yml'));
    expect(res.code).toBe(1);
    expect(res.messages.map((m) => m.rule)).toContain('invalid-schema');
  });

  it('runs serve, worker, PostgreSQL, Redis, Prometheus and Alertmanager, with every mounted file present', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'alertmanager',
      'postgres',
      'prometheus',
      'redis',
      'serve',
      'worker',
    ]);
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of (service.volumes ?? []) as string[]) {
        const source = volume.split(':')[0];
        if (source.startsWith('.')) expect(existsSync(join(DEPLOY, source)), `${name}: ${source}`).toBe(true);
      }
    }
    const env = compose.services.serve.environment as Record<string, string>;
    expect(new URL(env.KEEL_DB.replace('${POSTGRES_PASSWORD:-keel}', 'pw')).hostname).toBe('postgres');
    expect(new URL(env.KEEL_ONLINE_STORE).hostname).toBe('redis');
    expect(new URL(env.KEEL_JOBS_REDIS).hostname).toBe('redis');
    expect(compose.services.worker.environment).toEqual(env);
  });

  it('gives serve and worker command lines the real CLI parses', async () => {
    const serve = (compose.services.serve.command as string[]).map((a) =>
      a.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1'),
    );
    expect(await cliParse(serve)).toEqual({ command: ['serve'], unknown: [] });
    expect(serve[serve.indexOf('--model') + 1]).toBe('models:/churn@champion');
    expect(compose.services.worker.command).toEqual(['worker']);
    if (await hasCommand('worker'))
      expect(await cliParse(compose.services.worker.command)).toMatchObject({ unknown: [] });
  });

  const promtool = installedTool('promtool');
  const amtool = installedTool('amtool');
  it.skipIf(!promtool || !amtool)(
    'mounts a Prometheus and an Alertmanager configuration their tools accept',
    async () => {
      const prom = await runProcess(
        promtool as string,
        ['check', 'config', join(DEPLOY, 'prometheus', 'prometheus.yml')],
        {
          cwd: REPO,
        },
      );
      expect(prom.code, prom.stderr).toBe(0);
      expect(prom.stdout).toMatch(/SUCCESS: 3 rules found/);
      const am = await runProcess(
        amtool as string,
        ['check-config', join(DEPLOY, 'alertmanager', 'alertmanager.yml')],
        {
          cwd: REPO,
        },
      );
      expect(am.code, am.stderr).toBe(0);
      expect(am.stdout).toMatch(/SUCCESS/);
    },
  );
});
