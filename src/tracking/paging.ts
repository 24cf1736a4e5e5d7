/**
 * @module tracking/paging
 * Page tokens: an opaque base64 of the next offset. Offsets are enough because every listing
 * has a total order (ties broken by id).
 */
import { KeelError } from '../core/index.js';

export function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64');
}

/** @throws KeelError INVALID_PARAMETER_VALUE for a token this server did not issue. */
export function decodePageToken(token: string | undefined): number {
  if (!token) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { offset?: unknown };
    if (typeof parsed.offset === 'number' && Number.isInteger(parsed.offset) && parsed.offset >= 0)
      return parsed.offset;
  } catch {
    // fall through to the error below
  }
  throw new KeelError('INVALID_PARAMETER_VALUE', `Invalid page token '${token}'`);
}

/** Given rows fetched with LIMIT max+1, returns the page and the next token when more exist. */
export function pageOf<T>(rows: T[], offset: number, max: number): { items: T[]; next_page_token?: string } {
  if (rows.length > max) return { items: rows.slice(0, max), next_page_token: encodePageToken(offset + max) };
  return { items: rows };
}
