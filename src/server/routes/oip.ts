/**
 * @module server/routes/oip
 * The Open Inference Protocol v2 (KServe v2, Triton, MLServer; specs/COMPAT.md section 5) under
 * `/v2`: health, server and model metadata, readiness, and infer. A request's input is one tensor
 * [N, F] in the model's column order, or with `parameters.content_type: "pd"` one input per column
 * named as the model's columns (MLServer's pandas codec). The answer is one output tensor `score`
 * (FP64, shape [N]): class-1 probabilities of a classifier, values of a regressor. Errors are
 * `{"error": "..."}`.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { KeelError, parseInput } from '../../core/index.js';
import {
  type EncodedRows,
  encodeColumns,
  encodedTensor,
  type ServedModelInfo,
  type ServingModel,
  type ServingModelInfo,
} from '../../serving/index.js';
import { logIfInternal, toHttpError } from '../errors.js';
import type { Readiness } from '../readiness.js';
import { KEEL_VERSION } from '../version.js';
import { SCORING_BODY_LIMIT } from './invocations.js';
import type { Scoring } from './scoring.js';
import { inferBody, type OipDatatype, type TensorInput } from './serving-schemas.js';

/** The name of the one output tensor infer answers with. */
export const SCORE_OUTPUT = 'score';
const PLATFORM = 'onnx_onnxv1';

/** ONNX Runtime element types as OIP datatypes. */
const DATATYPES: Record<string, OipDatatype> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

const invalid = (message: string) => new KeelError('INVALID_PARAMETER_VALUE', message);

function flatten(data: readonly unknown[], out: unknown[] = []): unknown[] {
  for (const v of data) {
    if (Array.isArray(v)) flatten(v, out);
    else out.push(v);
  }
  return out;
}

/**
 * The flat values of a tensor, checked against its shape and datatype. A missing value (null) is
 * allowed in float tensors: Keel's models take NaN as missing, and JSON has no NaN.
 */
function tensorValues(input: TensorInput, allowBytes: boolean): unknown[] {
  const values = flatten(input.data);
  const size = input.shape.reduce((a, b) => a * b, 1);
  if (values.length !== size)
    throw invalid(
      `input '${input.name}': shape [${input.shape.join(', ')}] holds ${size} values; data has ${values.length}`,
    );
  const type = input.datatype;
  const ok: (v: unknown) => boolean =
    type === 'BOOL'
      ? (v) => typeof v === 'boolean'
      : type === 'BYTES'
        ? (v) => typeof v === 'string'
        : /^(FP|BF)/.test(type)
          ? (v) => v === null || typeof v === 'number'
          : type.startsWith('U')
            ? (v) => Number.isInteger(v) && (v as number) >= 0
            : Number.isInteger;
  if (type === 'BYTES' && !allowBytes)
    throw invalid(
      `input '${input.name}': BYTES is taken only with content_type "pd" (one input per column); send numbers`,
    );
  const bad = values.findIndex((v) => !ok(v));
  if (bad >= 0)
    throw invalid(
      `input '${input.name}': data[${bad}] is ${JSON.stringify(values[bad])}, not a ${type} value`,
    );
  return values;
}

/** One tensor [N, F] in the model's column order; a categorical column carries category codes. */
function tensorRows(model: ServingModel, inputs: TensorInput[]): EncodedRows {
  if (inputs.length !== 1)
    throw invalid(
      `the model takes one input tensor [N, ${model.width}]; got ${inputs.length} inputs (send content_type "pd" for one input per column)`,
    );
  const input = inputs[0];
  if (input.shape.length !== 2 || input.shape[1] !== model.width)
    throw invalid(
      `input '${input.name}': the model takes shape [N, ${model.width}]; got [${input.shape.join(', ')}]`,
    );
  const values = tensorValues(input, false);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = v === null ? Number.NaN : typeof v === 'boolean' ? Number(v) : (v as number);
  }
  return encodedTensor(model, out, input.shape[0]);
}

/** One input per column, each of shape [N] or [N, 1], named as the model's columns. */
function pandasRows(model: ServingModel, inputs: TensorInput[]): EncodedRows {
  const columns = model.info.features;
  if (columns.length === 0)
    throw invalid(
      `${model.info.name} version ${model.info.version} has no column names: send one tensor [N, ${model.width}]`,
    );
  const byName = new Map<string, unknown[]>();
  for (const input of inputs) {
    if (byName.has(input.name)) throw invalid(`input '${input.name}' is given twice`);
    if (input.shape.length > 2 || (input.shape.length === 2 && input.shape[1] !== 1))
      throw invalid(
        `input '${input.name}': a column has shape [N] or [N, 1]; got [${input.shape.join(', ')}]`,
      );
    byName.set(input.name, tensorValues(input, true));
  }
  const absent = columns.filter((c) => !byName.has(c));
  if (absent.length > 0)
    throw invalid(
      `no input for column${absent.length > 1 ? 's' : ''} ${absent.map((c) => `'${c}'`).join(', ')} (content_type "pd" takes one input per column: ${columns.join(', ')})`,
    );
  const n = inputs[0].shape[0];
  const other = inputs.find((i) => i.shape[0] !== n);
  if (other) throw invalid(`input '${other.name}' has ${other.shape[0]} rows; '${inputs[0].name}' has ${n}`);
  return encodeColumns(model, byName, n);
}

function tensorMetadata(spec: ServingModelInfo['signature']['inputs'][number]) {
  return {
    name: spec.name,
    datatype: DATATYPES[spec.type] ?? spec.type.toUpperCase(),
    shape: spec.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
  };
}

/**
 * Keel's additions to the model metadata, so a client can build the input without the design
 * notes: the tensor's columns in order (as content_type "pd" takes them: FP64, or BYTES for a
 * category, whose code in the one-tensor form is its position in `categories`) and the input
 * policy the model is served with.
 */
function schemaMetadata(info: ServedModelInfo) {
  const { unseenCategory, allMissing, maxMissingShare } = info.inputPolicy;
  return {
    columns: info.columns.map((c, index) => ({
      name: c.name,
      index,
      type: c.type,
      datatype: c.type === 'category' ? 'BYTES' : 'FP64',
      ...(c.categories ? { categories: c.categories } : {}),
    })),
    input_policy: {
      unseen_category: unseenCategory,
      all_missing: allMissing,
      max_missing_share: maxMissingShare,
    },
  };
}

const params = z.object({ name: z.string(), version: z.string().optional() });

export const oipRoutes: FastifyPluginAsync<{ scoring: Scoring; readiness: Readiness }> = async (
  app,
  { scoring, readiness },
) => {
  app.setErrorHandler((err, request, reply) => {
    const e = toHttpError(err);
    logIfInternal(request, err, e.internal);
    return reply.status(e.status).send({ error: e.message });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: `No route ${request.method} ${request.url.split('?')[0]}` }),
  );

  /** The served entries of a model (one per version), or none. */
  const served = (name: string, version?: string) =>
    scoring.server.list().filter((m) => m.name === name && (version === undefined || m.version === version));
  /** Whether a version of `name` takes requests: its primary, or a canary that is ready. */
  const takesRequests = (name: string, version?: string) =>
    scoring.server
      .list()
      .some(
        (m) =>
          m.name === name &&
          (version === undefined ||
            m.version === version ||
            (m.canary?.ready && m.canary.version === version)),
      );

  /**
   * OIP health is a status with an empty body; a server that is not ready also says why, as
   * `/ready` does (clients read the status; a person reads the body). 503, not OIP's "4xx is
   * false": a load balancer or Kubernetes reads any error status as not ready, and 503 is what
   * "not ready now, try later" means in HTTP.
   */
  const answerReady = async (reply: FastifyReply) => {
    const report = await readiness.check();
    return report.status === 'ready' ? reply.status(200).send() : reply.status(503).send(report);
  };

  app.get('/', { config: { permission: 'read' } }, async () => ({
    name: 'keel',
    version: KEEL_VERSION,
    extensions: [],
  }));
  app.get('/health/live', { config: { permission: 'public' } }, async (_request, reply) =>
    reply.status(200).send(),
  );
  app.get('/health/ready', { config: { permission: 'public' } }, async (_request, reply) =>
    answerReady(reply),
  );

  for (const path of ['/models/:name', '/models/:name/versions/:version']) {
    app.get(`${path}/ready`, { config: { permission: 'read' } }, async (request, reply) => {
      const { name, version } = parseInput(params, request.params, 'path');
      if (!takesRequests(name, version)) return reply.status(404).send();
      return answerReady(reply);
    });

    app.get(path, { config: { permission: 'read' } }, async (request) => {
      const { name, version } = parseInput(params, request.params, 'path');
      const entries = served(name, version);
      if (entries.length === 0)
        throw new KeelError(
          'RESOURCE_DOES_NOT_EXIST',
          version === undefined
            ? `model '${name}' is not served here`
            : `model '${name}' version ${version} is not served here`,
        );
      const info = entries[0];
      return {
        name,
        versions: entries.map((e) => e.version),
        platform: PLATFORM,
        inputs: info.signature.inputs.map(tensorMetadata),
        outputs: [{ name: SCORE_OUTPUT, datatype: 'FP64', shape: [-1] }],
        ...schemaMetadata(info),
      };
    });

    app.post(
      `${path}/infer`,
      { bodyLimit: SCORING_BODY_LIMIT, config: { permission: 'read' } },
      async (request) => {
        const { name, version } = parseInput(params, request.params, 'path');
        const body = parseInput(inferBody, request.body, 'inference request');
        const unknown = body.outputs?.find((o) => o.name !== SCORE_OUTPUT);
        if (unknown)
          throw invalid(`unknown output '${unknown.name}': the model's one output is '${SCORE_OUTPUT}'`);
        const contentType = body.parameters?.content_type;
        if (contentType !== undefined && contentType !== 'pd' && contentType !== 'np')
          throw invalid(`content_type ${JSON.stringify(contentType)} is not supported: use "pd" or "np"`);
        return scoring.withModel(name, { version, request }, async (predictor, score) => {
          const { model } = predictor;
          const encoded =
            contentType === 'pd' ? pandasRows(model, body.inputs) : tensorRows(model, body.inputs);
          const { scores, issues } = await score(encoded);
          return {
            model_name: model.info.name,
            model_version: model.info.version,
            ...(body.id === undefined ? {} : { id: body.id }),
            // OIP parameters hold scalars only, so the issues travel as JSON text.
            ...(issues.length > 0 ? { parameters: { input_issues: JSON.stringify(issues) } } : {}),
            outputs: [
              { name: SCORE_OUTPUT, datatype: 'FP64', shape: [encoded.rows], data: Array.from(scores) },
            ],
          };
        });
      },
    );
  }
};
