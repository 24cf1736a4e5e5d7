/**
 * @module serving/predictor
 * Scores requests with a served model: rows given whole (objects or arrays), or entity keys whose
 * features are read from the online store by the model's feature references, so serving computes
 * its inputs with the same feature definitions training used.
 */
import { KeelError } from '../core/index.js';
import type { FeatureStatus, FeatureStore, FeatureValue } from '../features/index.js';
import { encodeArrays, encodeRecords } from './encode.js';
import type { ServingModel } from './model.js';

export interface EntityPrediction extends EntityFeatures {
  scores: Float64Array;
}

export interface EntityFeatures {
  /** Per row, the feature values the model was given. */
  features: Array<Record<string, FeatureValue>>;
  /** Per row, the features the online store did not hold fresh (`NOT_FOUND`, `OUTSIDE_MAX_AGE`, ...). */
  missing: Array<Record<string, FeatureStatus>>;
}

export class Predictor {
  constructor(
    readonly model: ServingModel,
    private readonly features?: FeatureStore,
  ) {}

  /** @throws KeelError INVALID_PARAMETER_VALUE (as a rejection) for rows the model cannot take. */
  async predictRecords(records: ReadonlyArray<Record<string, unknown>>): Promise<Float64Array> {
    return this.model.score(encodeRecords(this.model, records).values, records.length);
  }

  /** @throws KeelError INVALID_PARAMETER_VALUE (as a rejection) for rows the model cannot take. */
  async predictArrays(rows: ReadonlyArray<readonly unknown[]>): Promise<Float64Array> {
    return this.model.score(encodeArrays(this.model, rows).values, rows.length);
  }

  /**
   * Looks the model's features up online for each entity (columns of join keys, as Feast's
   * `/get-online-features` takes them) and scores them.
   * @throws KeelError as `lookupEntities`.
   */
  async predictEntities(entities: Readonly<Record<string, readonly unknown[]>>): Promise<EntityPrediction> {
    const found = await this.lookupEntities(entities);
    return { scores: await this.predictRecords(found.features), ...found };
  }

  /**
   * The model's features of each entity, read online, without scoring them (a server batches the
   * scoring of many requests).
   * @throws KeelError FAILED_PRECONDITION when the server has no feature store or the model no
   *   feature references; as `FeatureStore.getOnlineFeatures` for bad entities.
   */
  async lookupEntities(entities: Readonly<Record<string, readonly unknown[]>>): Promise<EntityFeatures> {
    const { info } = this.model;
    if (!this.features)
      throw new KeelError('FAILED_PRECONDITION', 'this server has no feature store to look features up in');
    if (info.featureRefs.length === 0 || info.features.length === 0)
      throw new KeelError(
        'FAILED_PRECONDITION',
        `${info.name} version ${info.version} names no features to look up: send feature rows instead`,
      );
    const response = await this.features.getOnlineFeatures({ features: info.featureRefs, entities });
    const column = new Map(response.featureNames.map((name, i) => [name, response.results[i]]));
    const rows = response.results[0]?.values.length ?? 0;
    const features: Array<Record<string, FeatureValue>> = [];
    const missing: Array<Record<string, FeatureStatus>> = [];
    for (let r = 0; r < rows; r++) {
      const values: Record<string, FeatureValue> = {};
      const absent: Record<string, FeatureStatus> = {};
      for (const name of info.features) {
        const c = column.get(name);
        const status = c?.statuses[r] ?? 'NOT_FOUND';
        values[name] = status === 'PRESENT' ? (c?.values[r] ?? null) : null;
        if (status !== 'PRESENT') absent[name] = status;
      }
      features.push(values);
      missing.push(absent);
    }
    return { features, missing };
  }
}
