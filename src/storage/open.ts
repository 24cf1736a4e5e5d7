/**
 * @module storage/open
 * Picks the metadata backend from config. pg loads only when PostgreSQL is chosen.
 */
import type { MetadataConfig } from '../core/index.js';
import type { SqlDatabase } from './database.js';

export async function openDatabase(config: MetadataConfig): Promise<SqlDatabase> {
  if (config.type === 'postgres') {
    const { PostgresDatabase } = await import('./postgres.js');
    return new PostgresDatabase(config.url);
  }
  const { SqliteDatabase } = await import('./sqlite.js');
  return new SqliteDatabase(config.path, config.synchronous);
}
