/**
 * @module server
 * The HTTP server: MLflow tracking REST and artifact proxy, health; more API families per issue.
 */
export { type BuildAppOptions, buildApp, type KeelServices } from './app.js';
export { type ServeOptions, startServer } from './serve.js';
export { tuneHeapForServing } from './serving-heap.js';
