/**
 * @module tracking/environment
 * The environment a run ran in, recorded as tags: the git commit, branch and whether the tree had
 * uncommitted changes (MLflow's standard tags), Node's version, the platform, and the sha256 of
 * the lockfile, so a result can be traced to the exact code and dependencies that made it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';

export const ENV_TAGS = {
  gitCommit: 'mlflow.source.git.commit',
  /** `true` when tracked files had uncommitted changes (untracked files do not count), as MLflow 3 records it. */
  gitDirty: 'mlflow.source.git.dirty',
  gitBranch: 'mlflow.source.git.branch',
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

const git = (cwd: string, args: string[]): string | undefined => {
  try {
    return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
};

/** The commit, branch and dirtiness of the checkout at `cwd`, as MLflow's GitInfo reads them. */
function gitTags(cwd: string): Record<string, string> {
  const commit = git(cwd, ['rev-parse', 'HEAD']);
  if (!commit) return {};
  const tags: Record<string, string> = { [ENV_TAGS.gitCommit]: commit };
  const branch = git(cwd, ['rev-parse', '--abbrev-ref', 'HEAD']);
  if (branch && branch !== 'HEAD') tags[ENV_TAGS.gitBranch] = branch;
  const status = git(cwd, ['status', '--porcelain', '--untracked-files=no']);
  if (status !== undefined) tags[ENV_TAGS.gitDirty] = String(status !== '');
  return tags;
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
  Object.assign(tags, gitTags(cwd));
  const lock = lockfileHash(cwd);
  if (lock) tags[ENV_TAGS.lockfile] = lock;
  return tags;
}
