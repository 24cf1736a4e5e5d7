/**
 * @module core/ids
 * Identifiers. Run ids are 32 lowercase hex characters, as MLflow's are (a uuid4 without dashes).
 */
import { randomBytes, randomUUID } from 'node:crypto';

export const newRunId = (): string => randomUUID().replaceAll('-', '');

/** A short random id for names nobody gave (runs without a name, requests). */
export const shortId = (bytes = 4): string => randomBytes(bytes).toString('hex');
