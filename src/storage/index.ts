/**
 * @module storage
 * The metadata database: one async interface, SQLite and PostgreSQL adapters, migrations.
 */
export * from './database.js';
export * from './migrate.js';
export { openDatabase } from './open.js';
