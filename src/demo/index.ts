/**
 * @module demo
 * `npm run demo`: the churn use case end to end on the embedded defaults, no server needed; with
 * `--loop`, the later months replayed through a served model, its monitors, alerts and retraining.
 */
export {
  CHURN_CUTOFFS,
  type ChurnDemoOptions,
  type ChurnDemoResult,
  DEMO_CUSTOMER,
  type DemoStep,
  runChurnDemo,
  SERVE_AT,
} from './churn.js';
export {
  type ChurnLoopOptions,
  type ChurnLoopResult,
  LOOP_MODEL,
  type LoopEvent,
  type LoopWindow,
  REFERENCE,
  REPLAY,
  runChurnLoop,
  TRAINING_PERIOD_END,
} from './loop.js';
export { formatLoopEvent, loopSummary } from './loop-report.js';
export { formatStep } from './report.js';
