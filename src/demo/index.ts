/**
 * @module demo
 * `npm run demo`: the churn use case end to end on the embedded defaults, no server needed.
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
export { formatStep } from './report.js';
