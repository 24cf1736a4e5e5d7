/**
 * @module tracking/environment
 * The environment a run ran in, recorded as tags: the git commit (MLflow's standard tag), Node's
 * version, the platform, and the sha256 of the lockfile, so a result can be traced to the exact
 * code and dependencies that made it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';

export const ENV_TAGS = {
  gitCommit: 'mlflow.source.git.commit',
  sourceName: 'mlflow.source.name',
  sourceType: 'mlflow.source.type',
  user: 'mlflow.user',
  node: 'keel.env.node',
  platform: 'keel.env.platform',
  lockfile: 'keel.env.lockfile_sha256',
} as const;

/**
 * Run tags that carry lineage the tracking tables do not model: written by pipelines and the
 * feature store, read by the registry's lineage gate.
 */
export const LINEAGE_TAGS = {
  /** sha256 of the dvc.lock a repro left. */
  pipelineLock: 'keel.pipeline.lock_sha256',
  /** Comma-separated `view@version` references. */
  featureViews: 'keel.features.views',
} as const;

function gitCommit(cwd: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

export function lockfileHash(cwd: string): string | undefined {
  for (const name of ['package-lock.json', 'npm-shrinkwrap.json', 'pnpm-lock.yaml', 'yarn.lock']) {
    const path = join(cwd, name);
    if (existsSync(path)) return createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return undefined;
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/** Tags describing where and with what this process runs. */
export function environmentTags(cwd = process.cwd()): Record<string, string> {
  const tags: Record<string, string> = {
    [ENV_TAGS.user]: currentUser(),
    [ENV_TAGS.sourceName]: process.argv[1] ?? 'node',
    [ENV_TAGS.sourceType]: 'LOCAL',
    [ENV_TAGS.node]: process.version,
    [ENV_TAGS.platform]: `${process.platform}-${process.arch}`,
  };
  const commit = gitCommit(cwd);
  if (commit) tags[ENV_TAGS.gitCommit] = commit;
  const lock = lockfileHash(cwd);
  if (lock) tags[ENV_TAGS.lockfile] = lock;
  return tags;
}
