/**
 * @module core
 * Errors, configuration, logging, ids, clock and atomic file writes: what every subsystem shares.
 */

export * from './bounded-cache.js';
export * from './clock.js';
export * from './config.js';
export * from './deadline.js';
export * from './duration.js';
export * from './errors.js';
export * from './file-lock.js';
export * from './fs.js';
export * from './ids.js';
export * from './logger.js';
export * from './progress.js';
export * from './time-slicer.js';
export * from './validate.js';
export * from './worker.js';
