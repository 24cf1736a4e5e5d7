/**
 * @module artifacts
 * The artifact store: a local folder under the Keel home by default.
 */
export * from './paths.js';
export * from './store.js';
