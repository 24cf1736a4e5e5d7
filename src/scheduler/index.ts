/**
 * @module scheduler
 * The scheduler `keel serve` runs: monitors and retraining schedules from keel.yaml, run by exactly
 * one server at a time through a lease in the metadata database, each due run once.
 */
export { type Job, jobsOf } from './jobs.js';
export { Lease, type LeaseState, wallClock } from './lease.js';
export {
  Scheduler,
  type SchedulerOptions,
  type SchedulerSettings,
  type SchedulerStatus,
  schedulerSettings,
} from './scheduler.js';
export { schedulerMigrations } from './schema.js';
