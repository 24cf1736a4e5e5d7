/**
 * @module scheduler/jobs
 * What the scheduler runs, from keel.yaml: one job per monitor (at each window's end, or on the
 * monitor's cron schedule) and one per retraining schedule. A job knows its due times: a monitor
 * without a schedule is due at every multiple of its window (UTC, from the epoch), so an hourly
 * monitor judges each clock hour; a cron job at each of its cron times (UTC).
 */
import { Cron } from 'croner';
import type { MonitoringSettings } from '../monitoring/index.js';

export interface Job {
  /** `monitor:<model>` or `retrain:<model>`. */
  id: string;
  kind: 'monitor' | 'retrain';
  model: string;
  /** Due times after `after`, up to `upTo` (ms, both), oldest first. */
  dueTimes(after: number, upTo: number, limit: number): number[];
  /** The latest due time at or before `upTo`. */
  latestDue(upTo: number): number | undefined;
  /** Missed due times are all run (monitors: each is its own window), or only the latest (retraining). */
  catchUp: 'all' | 'latest';
}

function everyJob(id: string, kind: Job['kind'], model: string, periodMs: number): Job {
  return {
    id,
    kind,
    model,
    catchUp: 'all',
    latestDue: (upTo) => Math.floor(upTo / periodMs) * periodMs,
    dueTimes(after, upTo, limit) {
      const out: number[] = [];
      const last = Math.floor(upTo / periodMs);
      for (let k = Math.max(Math.floor(after / periodMs) + 1, last - limit + 1); k <= last; k++)
        out.push(k * periodMs);
      return out;
    },
  };
}

function cronJob(
  id: string,
  kind: Job['kind'],
  model: string,
  pattern: string,
  catchUp: Job['catchUp'],
): Job {
  const cron = new Cron(pattern, { paused: true, timezone: 'UTC' });
  return {
    id,
    kind,
    model,
    catchUp,
    latestDue: (upTo) => cron.previousRuns(1, new Date(upTo + 1))[0]?.getTime(),
    dueTimes(after, upTo, limit) {
      const out: number[] = [];
      for (
        let next = cron.nextRun(new Date(after));
        next && next.getTime() <= upTo;
        next = cron.nextRun(next)
      ) {
        out.push(next.getTime());
        if (out.length > limit) out.shift();
      }
      return out;
    },
  };
}

/** Every job keel.yaml's monitoring section asks for. */
export function jobsOf(settings: MonitoringSettings): Job[] {
  const jobs: Job[] = [];
  for (const spec of Object.values(settings.models)) {
    jobs.push(
      spec.schedule
        ? cronJob(`monitor:${spec.model}`, 'monitor', spec.model, spec.schedule, 'all')
        : everyJob(`monitor:${spec.model}`, 'monitor', spec.model, spec.windowMs),
    );
    const schedule = spec.retrain?.triggers.schedule;
    if (schedule) jobs.push(cronJob(`retrain:${spec.model}`, 'retrain', spec.model, schedule, 'latest'));
  }
  return jobs;
}
