/**
 * @module server/routes/invocations
 * MLflow's scoring server (`mlflow models serve`, specs/COMPAT.md section 3): `POST /invocations`
 * with JSON (`dataframe_split`, `dataframe_records`, `instances`, `inputs`) or CSV, `GET /ping`
 * and `GET /version`. Content types, charsets and messages follow MLflow's
 * `pyfunc/scoring_server`: 415 as text, bad input as `{error_code: "BAD_REQUEST", message}`.
 * With several models served, `?model=<name>` or the `X-Keel-Model` header picks one.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { BoundedCache, KeelError, parseInput } from '../../core/index.js';
import {
  type EncodedRows,
  encodeArrays,
  encodeColumns,
  encodeRecords,
  encodeTable,
  type InputIssue,
  type ServingModel,
} from '../../serving/index.js';
import { logIfInternal, toHttpError } from '../errors.js';
import { KEEL_VERSION } from '../version.js';
import { parseCsv } from './csv.js';
import type { Scoring } from './scoring.js';
import { MLFLOW_FORMATS, mlflowFormats } from './serving-schemas.js';

/** Rows of a request, before the model's columns are known. */
export type RequestRows =
  | { records: ReadonlyArray<Record<string, unknown>> }
  /** A table; without `columns` (or for a model with no column names) read by position. */
  | { columns?: readonly string[]; rows: ReadonlyArray<readonly unknown[]> }
  /** Columns of values by name, all of `rows` values. */
  | { byColumn: ReadonlyMap<string, readonly unknown[]>; rows: number };

/**
 * The model's input tensor for `input`.
 * @throws KeelError INVALID_PARAMETER_VALUE naming the row, column or value that does not fit.
 */
export function encodeRows(model: ServingModel, input: RequestRows): EncodedRows {
  if ('records' in input) return encodeRecords(model, input.records);
  if ('byColumn' in input) return encodeColumns(model, input.byColumn, input.rows);
  const { columns, rows } = input;
  return columns ? encodeTable(model, columns, rows) : encodeArrays(model, rows);
}

/**
 * What an answer adds for rows the input policy let through with an issue (an unseen category
 * scored as missing, an all-missing row scored): nothing when there is none, so a clean answer
 * keeps its protocol's exact shape.
 */
export const issuesField = (issues: readonly InputIssue[]): { input_issues?: readonly InputIssue[] } =>
  issues.length > 0 ? { input_issues: issues } : {};

const CONTENT_TYPES = ['text/csv', 'application/json'];
/** Scoring requests carry data: more than the 1 MiB the REST APIs allow. */
export const SCORING_BODY_LIMIT = 32 * 1024 * 1024;

const REQUIRED_INPUT_FORMAT = `The input must be a JSON dictionary with exactly one of the input fields {${MLFLOW_FORMATS.map((f) => `'${f}'`).join(', ')}}`;

const badInput = (message: string) => new KeelError('BAD_REQUEST', `Invalid input. ${message}`);

/** The reason for a 415, as MLflow words it, or the media type. */
function mediaType(header: string | undefined): { type: string } | { refused: string } {
  const [type, ...pairs] = (header ?? '').split(';').map((s) => s.trim());
  const params = new Map(
    pairs.map((p) => {
      const eq = p.indexOf('=');
      return eq < 0
        ? [p.toLowerCase(), '']
        : [p.slice(0, eq).toLowerCase(), p.slice(eq + 1).replace(/^"|"$/g, '')];
    }),
  );
  const charset = (params.get('charset') ?? 'utf-8').toLowerCase();
  if (charset !== 'utf-8' && charset !== 'utf8') return { refused: 'The scoring server only supports UTF-8' };
  params.delete('charset');
  if (params.size > 0)
    return { refused: `Unrecognized content type parameters: ${[...params.keys()].join(', ')}.` };
  const mime = type.toLowerCase();
  if (!CONTENT_TYPES.includes(mime))
    return {
      refused: `This predictor only supports the following content types: Types: ['${CONTENT_TYPES.join("', '")}']. Got '${header ?? ''}'.`,
    };
  return { type: mime };
}

/**
 * `mediaType` of the content types seen, by header: a client sends the same one with every
 * request, and judging it (splitting, a Map of its parameters) cost 2% of a one-row request.
 */
const judged = new BoundedCache<string, ReturnType<typeof mediaType>>(64);

function columnar(columns: Record<string, readonly unknown[]>): RequestRows {
  const names = Object.keys(columns);
  const n = names.length > 0 ? columns[names[0]].length : 0;
  const ragged = names.find((c) => columns[c].length !== n);
  if (ragged !== undefined)
    throw badInput(`column '${ragged}' has ${columns[ragged].length} values; '${names[0]}' has ${n}`);
  return { byColumn: new Map(Object.entries(columns)), rows: n };
}

function jsonRows(text: string): RequestRows {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw badInput(`Ensure that input is a valid JSON formatted string. Error: '${(err as Error).message}'`);
  }
  if (Array.isArray(body)) throw badInput(`${REQUIRED_INPUT_FORMAT}. Received a list.`);
  if (body === null || typeof body !== 'object')
    throw badInput(`${REQUIRED_INPUT_FORMAT}. Received unexpected input type '${typeof body}'.`);
  const fields = Object.keys(body);
  const formats = MLFLOW_FORMATS.filter((f) => f in body);
  if (formats.length !== 1)
    throw badInput(
      `${REQUIRED_INPUT_FORMAT}. Received dictionary with input fields: [${fields.map((f) => `'${f}'`).join(', ')}].`,
    );
  const format = formats[0];
  const value = (body as Record<string, unknown>)[format];
  switch (format) {
    case 'dataframe_split': {
      const split = parseInput(mlflowFormats.dataframe_split, value, format);
      return { columns: split.columns, rows: split.data };
    }
    case 'dataframe_records':
      return { records: parseInput(mlflowFormats.dataframe_records, value, format) };
    case 'instances': {
      const rows = parseInput(mlflowFormats.instances, value, format);
      return rows.every((r) => Array.isArray(r))
        ? { rows: rows as unknown[][] }
        : { records: rows as Array<Record<string, unknown>> };
    }
    case 'inputs': {
      const inputs = parseInput(mlflowFormats.inputs, value, format);
      return Array.isArray(inputs) ? { rows: inputs } : columnar(inputs);
    }
  }
}

const query = z.object({ model: z.string().optional() });

export const mlflowScoringRoutes: FastifyPluginAsync<{ scoring: Scoring }> = async (app, { scoring }) => {
  // The body arrives as text, so the content type and charset are judged here, as MLflow does,
  // rather than by Fastify's parsers.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.setErrorHandler((err, request, reply) => {
    const e = toHttpError(err);
    logIfInternal(request, err, e.internal);
    return reply
      .status(e.status)
      .send({ error_code: e.status === 400 ? 'BAD_REQUEST' : e.code, message: e.message });
  });

  // MLflow answers a newline, labelled JSON.
  app.get('/ping', { config: { permission: 'public' } }, async (_request, reply) =>
    reply.type('application/json').send('\n'),
  );
  app.get('/version', { config: { permission: 'read' } }, async (_request, reply) =>
    reply.type('text/plain').send(KEEL_VERSION),
  );

  app.post(
    '/invocations',
    { bodyLimit: SCORING_BODY_LIMIT, config: { permission: 'read' } },
    async (request, reply) => {
      const type = request.headers['content-type'];
      const media = type === undefined ? mediaType(type) : judged.getOrMake(type, mediaType);
      if ('refused' in media) return reply.status(415).type('text/plain').send(media.refused);
      const text = typeof request.body === 'string' ? request.body : '';
      const input = media.type === 'text/csv' ? parseCsv(text) : jsonRows(text);
      const header = request.headers['x-keel-model'];
      const name = scoring.pick(
        parseInput(query, request.query, 'query').model ?? (Array.isArray(header) ? header[0] : header),
        '?model=<name> or the X-Keel-Model header',
      );
      return scoring.withModel(name, { request }, async (predictor, score) => {
        const { scores, issues } = await score(encodeRows(predictor.model, input));
        return { predictions: Array.from(scores), ...issuesField(issues) };
      });
    },
  );
};
