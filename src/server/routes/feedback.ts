/**
 * @module server/routes/feedback
 * `POST /feedback`: ground truth for logged predictions, joined to them later by request id (the
 * `X-Request-Id` a scoring response carried) and row. One label `{"request_id", "label", "row"?}`
 * or a list of them; `label` is a number (or a boolean, stored 1/0); `row` is the row's position in
 * its request (default 0). Labels are buffered and written with the prediction log, so a label
 * may arrive before or long after its prediction is written.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { parseInput } from '../../core/index.js';
import { type PredictionLog, REQUEST_ID_PATTERN } from '../../monitoring/index.js';

const label = z.strictObject({
  request_id: z.string().regex(REQUEST_ID_PATTERN, "must be 1 to 128 letters, digits, '.', '_', ':' or '-'"),
  label: z.union([z.number().finite(), z.boolean()]),
  row: z.number().int().min(0).optional(),
});
const labels = z.array(label).min(1).max(10_000);

export const feedbackRoutes: FastifyPluginAsync<{ log: PredictionLog }> = async (app, { log }) => {
  app.post('/feedback', { config: { permission: 'write' } }, async (request) => {
    // Parsed by its own shape, so a bad field is named rather than "matches neither form".
    const given = Array.isArray(request.body)
      ? parseInput(labels, request.body, 'feedback')
      : [parseInput(label, request.body, 'feedback')];
    const timestamp = Date.now();
    log.recordFeedback(
      given.map((l) => ({
        timestamp,
        requestId: l.request_id,
        row: l.row,
        label: typeof l.label === 'boolean' ? Number(l.label) : l.label,
      })),
    );
    return { recorded: given.length };
  });
};
