/**
 * @module pipeline/workspace
 * One opened pipeline project: its dvc.yaml and DAG, its lock file, `.dvcignore`, the stat cache,
 * the object caches (DVC 3's and DVC 2's layouts) and the run cache, all under the project's
 * `.keel/` folder.
 */
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { ProgressFn } from '../core/index.js';
import { buildDag, type Dag } from './dag.js';
import { loadProject } from './dvcfile.js';
import { Hasher } from './hash.js';
import { IgnoreFilter } from './ignore.js';
import { ObjectStore } from './objects.js';
import { absolutePath } from './paths.js';
import { RunCache } from './run-cache.js';
import type { Project, Stage } from './schema.js';
import { type HashName, StatCache } from './state.js';

/** Options for {@link Workspace.open}. */
export interface WorkspaceOptions {
  /** Keel's folder for caches; default `<root>/.keel`. */
  home?: string;
  /** The pipeline file relative to root; default `dvc.yaml`. */
  file?: string;
  progress?: ProgressFn;
  /** The folder paths are shown relative to (DVC shows them relative to where it runs); default the root. */
  cwd?: string;
}

export class Workspace {
  private constructor(
    readonly project: Project,
    readonly dag: Dag,
    readonly home: string,
    readonly state: StatCache,
    readonly hasher: Hasher,
    readonly ignore: IgnoreFilter,
    readonly objects: ObjectStore,
    readonly legacyObjects: ObjectStore,
    readonly runCache: RunCache,
    readonly cwd: string,
  ) {}

  /**
   * Opens the project at `root` (the folder holding dvc.yaml).
   * @throws KeelError RESOURCE_DOES_NOT_EXIST / INVALID_PARAMETER_VALUE from loading dvc.yaml.
   */
  static open(root: string, options: WorkspaceOptions = {}): Workspace {
    const project = loadProject(resolve(root), { file: options.file });
    const dag = buildDag(project);
    const home = resolve(project.root, options.home ?? '.keel');
    const state = new StatCache(join(home, 'tmp', 'md5s.db'));
    const ignore = new IgnoreFilter(project.root);
    const hasher = new Hasher(state, options.progress, ignore);
    const objects = new ObjectStore(join(home, 'cache', 'files', 'md5'), 'md5', hasher);
    const legacy = new ObjectStore(join(home, 'cache'), 'md5-dos2unix', hasher);
    return new Workspace(
      project,
      dag,
      home,
      state,
      hasher,
      ignore,
      objects,
      legacy,
      new RunCache(join(home, 'cache', 'runs')),
      resolve(options.cwd ?? project.root),
    );
  }

  get root(): string {
    return this.project.root;
  }

  /** The lock file beside dvc.yaml. */
  get lockPath(): string {
    return join(this.root, this.project.file.replace(/\.yaml$/, '.lock'));
  }

  /** The object store for a hash name: DVC 2 entries live in the old layout. */
  store(name: HashName): ObjectStore {
    return name === 'md5' ? this.objects : this.legacyObjects;
  }

  /** A stage path on disk. */
  abs(stage: Pick<Stage, 'wdir'>, path: string): string {
    return absolutePath(this.root, stage, path);
  }

  /** How DVC prints a path: relative to where it runs when that is inside the project. */
  display(abs: string): string {
    const cwdInRoot = relative(this.root, this.cwd);
    const base = cwdInRoot.startsWith('..') || isAbsolute(cwdInRoot) ? this.root : this.cwd;
    return relative(base, abs) || '.';
  }

  /** Closes the stat cache and stops hashing workers. */
  async close(): Promise<void> {
    await this.hasher.close();
    this.state.close();
  }
}
