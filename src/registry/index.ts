/**
 * @module registry
 * The model registry: registered models, versions (any MLflow model; served when it holds an ONNX
 * model) with signature and lineage, stages and governed aliases, governance gates, approvals, the
 * audit log, API tokens and webhooks.
 */
export type { AuditAction, AuditEntry, AuditOutcome } from './audit.js';
export {
  type DeliveryOptions,
  type DeliveryRecord,
  postWebhook,
  signPayload,
  type TestResult,
  webhookBody,
} from './delivery.js';
export { formatGates, type GateResult } from './gates.js';
export {
  type Actor,
  can,
  localActor,
  type Permission,
  ROLES,
  type Role,
  requirePermission,
} from './identity.js';
export type { SearchOptions } from './models.js';
export { parseStage, parseVersion, validateAlias } from './names.js';
export {
  DEFAULT_POLICY,
  DEFAULT_PROTECTION,
  describeGate,
  type Gate,
  type Policy,
  type Protection,
  parsePolicy,
  protectionOf,
} from './policy.js';
export {
  type PromoteOptions,
  type PromotionRequest,
  type PromotionResult,
  pendingAsError,
} from './promotion.js';
export {
  QUANTIZATION_TAG,
  QUANTIZED_FROM_TAG,
  type QuantizeVersionOptions,
  type QuantizeVersionResult,
  quantizeVersion,
} from './quantize.js';
export { Registry, type RegistryOptions, type ResolvedModel } from './registry.js';
export { registryMigrations } from './schema.js';
export { readSignature } from './signature.js';
export type { TokenInfo } from './tokens.js';
export type * from './types.js';
export { type ModelReference, parseModelUri } from './uri.js';
export { type CreateVersionInput, SERVING_REFUSED_TAG } from './versions.js';
export { WEBHOOK_EVENTS, type Webhook, type WebhookInput } from './webhooks.js';
