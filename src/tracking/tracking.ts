/**
 * @module tracking/tracking
 * The Tracking facade: experiments, runs, logged models and their artifacts over one metadata
 * database and one artifact store. The REST API, the CLI and the in-process client all call this.
 *
 * @example
 * const tracking = await Tracking.open(loadConfig());
 * const id = await tracking.experiments.create('churn');
 * const run = await tracking.runs.create({ experimentId: id });
 */
import {
  type ArtifactEntry,
  type ArtifactStore,
  joinArtifactPath,
  openArtifactStore,
} from '../artifacts/index.js';
import { type Clock, type KeelConfig, KeelError, systemClock } from '../core/index.js';
import { migrate, openDatabase, type SqlDatabase } from '../storage/index.js';
import { ExperimentStore } from './experiments.js';
import { LoggedModelStore } from './logged-models.js';
import { RunStore } from './runs.js';
import { trackingMigrations } from './schema.js';

const ARTIFACT_SCHEME = 'mlflow-artifacts:/';

/** The store-relative path behind an `mlflow-artifacts:/` URI. */
export function artifactUriToPath(uri: string): string {
  if (!uri.startsWith(ARTIFACT_SCHEME)) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `Artifact location '${uri}' is not served by Keel (only ${ARTIFACT_SCHEME} URIs are)`,
    );
  }
  return joinArtifactPath(uri.slice(ARTIFACT_SCHEME.length));
}

export class Tracking {
  readonly experiments: ExperimentStore;
  readonly runs: RunStore;
  readonly loggedModels: LoggedModelStore;
  /** Opened with `open`: `close` closes the artifact store too. */
  private ownsArtifacts = false;

  constructor(
    readonly db: SqlDatabase,
    readonly artifacts: ArtifactStore,
    readonly clock: Clock = systemClock,
  ) {
    this.experiments = new ExperimentStore(db, clock);
    this.runs = new RunStore(db, clock);
    this.loggedModels = new LoggedModelStore(db, clock);
  }

  /** Opens the configured database, applies migrations and makes sure experiment 0 exists. */
  static async open(config: KeelConfig, clock: Clock = systemClock): Promise<Tracking> {
    const db = await openDatabase(config.metadata);
    const tracking = new Tracking(db, openArtifactStore(config), clock);
    tracking.ownsArtifacts = true;
    await tracking.init();
    return tracking;
  }

  async init(): Promise<void> {
    await migrate(this.db, trackingMigrations);
    await this.experiments.ensureDefault();
  }

  /** The experiment's id, creating it when missing. */
  async ensureExperiment(name: string): Promise<string> {
    const found = await this.experiments.findByName(name);
    if (found) {
      if (found.lifecycle_stage === 'deleted') {
        throw new KeelError(
          'INVALID_PARAMETER_VALUE',
          `Experiment '${name}' is deleted; restore it or use another name`,
        );
      }
      return found.experiment_id;
    }
    try {
      return await this.experiments.create(name);
    } catch (err) {
      // Another process created it between our read and our insert.
      if (err instanceof KeelError && err.code === 'RESOURCE_ALREADY_EXISTS')
        return (await this.experiments.getByName(name)).experiment_id;
      throw err;
    }
  }

  /** Store-relative path of a run's artifact root. */
  async runArtifactRoot(runId: string): Promise<string> {
    return artifactUriToPath(await this.runs.artifactUri(runId));
  }

  async logArtifact(runId: string, localPath: string, artifactPath = ''): Promise<void> {
    const root = await this.runArtifactRoot(runId);
    const name = localPath.split('/').filter(Boolean).pop() ?? '';
    await this.artifacts.putLocal(localPath, joinArtifactPath(root, artifactPath, name));
  }

  /** A run's artifacts under `path`, paths relative to its artifact root. */
  async listArtifacts(runId: string, path = ''): Promise<{ root_uri: string; files: ArtifactEntry[] }> {
    return this.listUnder(await this.runs.artifactUri(runId), path);
  }

  /** A logged model's files under `path`, paths relative to its artifact location. */
  async listLoggedModelArtifacts(
    modelId: string,
    path = '',
  ): Promise<{ root_uri: string; files: ArtifactEntry[] }> {
    return this.listUnder(await this.loggedModels.artifactLocation(modelId), path);
  }

  private async listUnder(
    rootUri: string,
    path: string,
  ): Promise<{ root_uri: string; files: ArtifactEntry[] }> {
    const root = artifactUriToPath(rootUri);
    const rel = joinArtifactPath(path);
    const files = await this.artifacts.list(joinArtifactPath(root, rel));
    return {
      root_uri: rootUri,
      files: files.map((f) => ({ ...f, path: rel ? `${rel}/${f.path}` : f.path })),
    };
  }

  async close(): Promise<void> {
    if (this.ownsArtifacts) this.artifacts.close();
    await this.db.close();
  }
}
