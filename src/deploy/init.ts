/**
 * @module deploy/init
 * `keel init --ci github`: writes the CI/CD workflow into a project, atomically, never over an
 * existing one unless asked, and says which of the files it names the project does not have yet.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KeelError, writeFileAtomic } from '../core/index.js';
import {
  DEFAULT_WORKFLOW_SETTINGS,
  GITHUB_WORKFLOW_PATH,
  githubWorkflow,
  type WorkflowSettings,
} from './github-workflow.js';

export const CI_PROVIDERS = ['github'] as const;
export type CiProvider = (typeof CI_PROVIDERS)[number];

export interface InitOptions {
  ci: CiProvider;
  /** Replace a workflow already there. */
  force?: boolean;
  settings?: Partial<WorkflowSettings>;
}

export interface InitResult {
  /** The files written, relative to the project root. */
  written: string[];
  /** Files the workflow names that the project does not have (yet). */
  missing: string[];
}

/**
 * Writes the CI workflow under `root`.
 * @throws KeelError RESOURCE_ALREADY_EXISTS when the workflow exists and `force` is not set;
 *   INVALID_PARAMETER_VALUE for an unknown provider or a bad setting.
 */
export function initProject(root: string, options: InitOptions): InitResult {
  if (!CI_PROVIDERS.includes(options.ci)) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `--ci must be one of ${CI_PROVIDERS.join(', ')}, got '${options.ci}'`,
    );
  }
  const text = githubWorkflow(options.settings);
  const target = join(root, GITHUB_WORKFLOW_PATH);
  if (existsSync(target) && !options.force) {
    throw new KeelError(
      'RESOURCE_ALREADY_EXISTS',
      `${GITHUB_WORKFLOW_PATH} already exists; --force replaces it`,
    );
  }
  mkdirSync(dirname(target), { recursive: true });
  writeFileAtomic(target, text);
  const s = { ...DEFAULT_WORKFLOW_SETTINGS, ...options.settings };
  const named = [s.schema, s.thresholds, s.evalData, s.probeData].filter((p) => !/[*?[]/.test(p));
  return { written: [GITHUB_WORKFLOW_PATH], missing: named.filter((p) => !existsSync(join(root, p))) };
}
