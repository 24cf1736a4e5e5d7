/**
 * @module artifacts
 * The artifact store: a local folder under the Keel home by default, or an S3-compatible bucket.
 */
export * from './open.js';
export * from './paths.js';
export * from './s3-store.js';
export * from './store.js';
