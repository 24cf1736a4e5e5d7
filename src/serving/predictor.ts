/**
 * @module serving/predictor
 * Scores requests with a served model: rows given whole (objects or arrays), or entity keys whose
 * features are read from the online store by the model's feature references, so serving computes
 * its inputs with the same feature definitions training used.
 */
import { KeelError } from '../core/index.js';
import type { FeatureStore, ServingFeatures } from '../features/index.js';
import { encodeArrays, encodeRecords } from './encode.js';
import type { ServingModel } from './model.js';

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
   * The model's features of each entity, read online, without scoring them (a server batches the
   * scoring of many requests).
   * @throws KeelError FAILED_PRECONDITION when the server has no feature store or the model no
   *   feature references; as `FeatureStore.getServingFeatures` for bad entities.
   */
  async lookupEntities(entities: Readonly<Record<string, readonly unknown[]>>): Promise<ServingFeatures> {
    const { info } = this.model;
    if (!this.features)
      throw new KeelError('FAILED_PRECONDITION', 'this server has no feature store to look features up in');
    if (info.featureRefs.length === 0 || info.features.length === 0)
      throw new KeelError(
        'FAILED_PRECONDITION',
        `${info.name} version ${info.version} names no features to look up: send feature rows instead`,
      );
    return this.features.getServingFeatures({ features: info.featureRefs, entities }, info.features);
  }
}
