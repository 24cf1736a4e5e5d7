/**
 * @module pipeline/workspace
 * One opened pipeline project: its dvc.yaml and DAG, its lock file, the stat cache, the object
 * cache and the run cache, all under the project's `.keel/` folder.
 */
import { join, resolve } from 'node:path';
import type { ProgressFn } from '../core/index.js';
import { buildDag, type Dag } from './dag.js';
import { loadProject } from './dvcfile.js';
import { Hasher } from './hash.js';
import { ObjectStore } from './objects.js';
import { absolutePath } from './paths.js';
import { RunCache } from './run-cache.js';
import type { Project, Stage } from './schema.js';
import { StatCache } from './state.js';

/** Options for {@link Workspace.open}. */
export interface WorkspaceOptions {
  /** Keel's folder for caches; default `<root>/.keel`. */
  home?: string;
  /** The pipeline file relative to root; default `dvc.yaml`. */
  file?: string;
  progress?: ProgressFn;
}

export class Workspace {
  private constructor(
    readonly project: Project,
    readonly dag: Dag,
    readonly home: string,
    readonly state: StatCache,
    readonly hasher: Hasher,
    readonly objects: ObjectStore,
    readonly runCache: RunCache,
  ) {}

  /**
   * Opens the project at `root` (the folder holding dvc.yaml).
   * @throws KeelError RESOURCE_DOES_NOT_EXIST / INVALID_PARAMETER_VALUE from loading dvc.yaml.
   */
  static open(root: string, options: WorkspaceOptions = {}): Workspace {
    const project = loadProject(root, { file: options.file });
    const dag = buildDag(project);
    const home = resolve(project.root, options.home ?? '.keel');
    const state = new StatCache(join(home, 'tmp', 'md5s.db'));
    const objects = new ObjectStore(join(home, 'cache', 'files', 'md5'));
    return new Workspace(
      project,
      dag,
      home,
      state,
      new Hasher(state, options.progress),
      objects,
      new RunCache(join(home, 'cache', 'runs'), objects),
    );
  }

  get root(): string {
    return this.project.root;
  }

  /** The lock file beside dvc.yaml. */
  get lockPath(): string {
    return join(this.root, this.project.file.replace(/\.yaml$/, '.lock'));
  }

  /** A stage path on disk. */
  abs(stage: Stage, path: string): string {
    return absolutePath(this.root, stage, path);
  }

  /** Closes the stat cache and stops hashing workers. */
  async close(): Promise<void> {
    await this.hasher.close();
    this.state.close();
  }
}
