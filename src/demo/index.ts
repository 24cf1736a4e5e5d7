/**
 * @module demo
 * `npm run demo`: the main job on the embedded defaults, no server needed.
 */
export { runTrackingTour, type TourResult } from './tracking-tour.js';
