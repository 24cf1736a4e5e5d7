/**
 * @module monitoring
 * Monitoring: drift statistics matching scipy and Evidently, drift per column and per dataset.
 */
export * from './drift.js';
export * from './drift-html.js';
export * from './drift-table.js';
export * from './stats/counts.js';
export * from './stats/distance.js';
export * from './stats/frequency.js';
export * from './stats/kolmogorov.js';
export * from './stats/ks.js';
export * from './stats/special.js';
