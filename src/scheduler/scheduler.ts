/**
 * @module scheduler/scheduler
 * The scheduler `keel serve` runs: every `tickMs` it takes or renews the lease, and only the
 * holder goes on to send the alert notifications due and run the jobs due (monitors, retraining
 * schedules). With several servers on one PostgreSQL exactly one runs them; when it dies, its lease
 * expires after `leaseTtlMs` and the next tick of another server takes over, so the schedules
 * resume within `leaseTtlMs + tickMs`.
 *
 * Each due run is a row keyed by (job, due time), inserted before the run starts: a due time is
 * run once across restarts and processes. A job seen for the first time starts from its latest due
 * time (recorded as its origin, not run); after that, every due time since the last one recorded
 * is run in order, so a restart or a takeover skips none (a monitor runs each missed window, up
 * to `maxCatchUp`; a retraining schedule runs its latest missed time once). A run whose process
 * died midway (its row still `running` under another holder) is run again by the next holder:
 * its first attempt stored nothing, since a monitor stores its report at its end.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import {
  type Clock,
  durationText,
  formatDuration,
  KeelError,
  type Logger,
  parseInput,
  shortId,
  silentLogger,
  systemClock,
} from '../core/index.js';
import type { Monitoring } from '../monitoring/index.js';
import { migrate, type SqlDatabase } from '../storage/index.js';
import { type Job, jobsOf } from './jobs.js';
import { Lease, type LeaseState, wallClock } from './lease.js';
import { schedulerMigrations } from './schema.js';

/** `monitoring.scheduler` in keel.yaml. */
const settingsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  leaseTtl: durationText('leaseTtl').default(15_000),
  tick: durationText('tick').default(5_000),
  /** A window is judged this long after it ends, once the prediction log has written its rows. */
  grace: durationText('grace').default(5_000),
  maxCatchUp: z.number().int().min(1).default(100),
});
export type SchedulerSettings = z.output<typeof settingsSchema>;

/** @throws KeelError INVALID_PARAMETER_VALUE naming the key. */
export function schedulerSettings(section: unknown): SchedulerSettings {
  const s = parseInput(settingsSchema, section ?? {}, 'keel.yaml monitoring.scheduler');
  if (s.tick >= s.leaseTtl)
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `keel.yaml monitoring.scheduler: tick (${formatDuration(s.tick)}) must be shorter than leaseTtl (${formatDuration(s.leaseTtl)}), or the lease lapses between renewals`,
    );
  return s;
}

export interface SchedulerOptions {
  monitoring: Monitoring;
  settings?: Partial<SchedulerSettings>;
  /** This process, as the lease names it (default host:pid:random). */
  holder?: string;
  /** The time due runs are judged by (default the process clock, which KEEL_NOW moves). */
  clock?: Clock;
  /** The lease's clock (default the wall clock). */
  leaseClock?: Clock;
  logger?: Logger;
  /** Called before each monitor run: a server writes its buffered predictions first. */
  beforeMonitor?: () => Promise<unknown>;
}

export interface SchedulerStatus {
  holder: string;
  leader: boolean;
  lease: LeaseState | null;
  jobs: Array<{ id: string; lastDue: number | null; lastStatus: string | null }>;
}

export class Scheduler {
  readonly holder: string;
  readonly settings: SchedulerSettings;
  private readonly lease: Lease;
  private readonly db: SqlDatabase;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly jobs: Job[];
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private leader = false;
  private stopped = false;

  constructor(private readonly options: SchedulerOptions) {
    const { monitoring } = options;
    this.settings = { ...schedulerSettings(monitoring.config.monitoring?.scheduler), ...options.settings };
    this.holder = options.holder ?? `${hostname()}:${process.pid}:${shortId(4)}`;
    this.db = monitoring.registry.tracking.db;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.lease = new Lease(
      this.db,
      'scheduler',
      this.holder,
      this.settings.leaseTtl,
      options.leaseClock ?? wallClock,
    );
    this.jobs = jobsOf(monitoring.settings);
  }

  async init(): Promise<void> {
    await migrate(this.db, schedulerMigrations);
  }

  /** Ticks now and every `tick` until `stop`. */
  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.ticking = this.tick()
        .then(() => undefined)
        .catch((err) => this.logger.error({ err }, 'a scheduler tick failed: the next one retries'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.settings.tick);
        });
    };
    loop();
  }

  /** Stops ticking, waits for the tick in progress, and gives the lease up for another process. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    if (this.leader) await this.lease.release().catch(() => undefined);
    this.leader = false;
  }

  /**
   * One tick: the lease, then (as its holder) the notifications and jobs due. Returns the due runs
   * it ran.
   */
  async tick(): Promise<Array<{ job: string; due: number; status: string }>> {
    const was = this.leader;
    this.leader = await this.lease.acquire();
    if (this.leader !== was)
      this.logger.info(
        { holder: this.holder },
        this.leader ? 'this server now runs the schedules' : 'another server runs the schedules',
      );
    if (!this.leader) return [];
    await this.options.monitoring.notifier.deliverDue();
    const ran: Array<{ job: string; due: number; status: string }> = [];
    for (const job of this.jobs) {
      if (this.stopped) break;
      for (const due of await this.dueRuns(job)) {
        // The lease may have gone to another process during a long run: stop at once.
        if (this.stopped || !(await this.lease.acquire())) return ran;
        ran.push({ job: job.id, due, status: await this.runOnce(job, due) });
      }
    }
    return ran;
  }

  /** The due times of a job to run now: interrupted ones, then those since the last recorded. */
  private async dueRuns(job: Job): Promise<number[]> {
    const upTo = this.clock.now() - this.settings.grace;
    const last = await this.db.get<{ due: number | null }>(
      'SELECT MAX(due_at) AS due FROM scheduler_runs WHERE job = ?',
      [job.id],
    );
    if (last?.due === null || last?.due === undefined) {
      const origin = job.latestDue(upTo) ?? upTo;
      await this.db
        .run(
          `INSERT INTO scheduler_runs (job, due_at, status, holder, started_at, finished_at, outcome) VALUES (?, ?, 'origin', ?, ?, ?, ?)`,
          [job.id, origin, this.holder, this.clock.now(), this.clock.now(), 'the schedule starts here'],
        )
        .catch(() => undefined);
      return [];
    }
    const interrupted = await this.db.all<{ due_at: number }>(
      `SELECT due_at FROM scheduler_runs WHERE job = ? AND status = 'running' AND holder <> ? ORDER BY due_at`,
      [job.id, this.holder],
    );
    const dues = job.dueTimes(Number(last.due), upTo, this.settings.maxCatchUp);
    const fresh = job.catchUp === 'latest' ? dues.slice(-1) : dues;
    return [...interrupted.map((r) => Number(r.due_at)), ...fresh];
  }

  /** Claims a due run (its row) and runs it; another process's claim makes this a no-op. */
  private async runOnce(job: Job, due: number): Promise<string> {
    const now = this.clock.now();
    const claimed = await this.db.transaction(async (tx) => {
      const row = await tx.get<{ status: string; holder: string }>(
        'SELECT status, holder FROM scheduler_runs WHERE job = ? AND due_at = ?',
        [job.id, due],
      );
      if (!row) {
        await tx.run(
          `INSERT INTO scheduler_runs (job, due_at, status, holder, started_at) VALUES (?, ?, 'running', ?, ?)`,
          [job.id, due, this.holder, now],
        );
        return true;
      }
      if (row.status !== 'running' || row.holder === this.holder) return false;
      await tx.run(
        "UPDATE scheduler_runs SET holder = ?, started_at = ? WHERE job = ? AND due_at = ? AND status = 'running'",
        [this.holder, now, job.id, due],
      );
      return true;
    });
    if (!claimed) return 'taken';
    let status = 'done';
    let outcome: Record<string, unknown>;
    try {
      outcome = job.kind === 'monitor' ? await this.monitor(job, due) : await this.retrain(job, due);
    } catch (err) {
      status = 'failed';
      outcome = { error: (err as Error).message };
      this.logger.error({ err, job: job.id, due }, `scheduled ${job.id} failed`);
    }
    await this.db.run(
      'UPDATE scheduler_runs SET status = ?, finished_at = ?, outcome = ? WHERE job = ? AND due_at = ?',
      [status, this.clock.now(), JSON.stringify(outcome), job.id, due],
    );
    return status;
  }

  private async monitor(job: Job, due: number): Promise<Record<string, unknown>> {
    await this.options.beforeMonitor?.();
    const report = await this.options.monitoring.run(job.model, {
      asOf: due,
      cause: 'schedule',
      deliver: false,
      retrain: 'background',
    });
    await this.options.monitoring.notifier.deliverDue();
    return {
      runId: report.id,
      status: report.status,
      breaches: report.breaches.length,
      fired: report.alerts.fired.length,
      ...(report.retraining ? { retraining: report.retraining.id } : {}),
    };
  }

  private async retrain(job: Job, due: number): Promise<Record<string, unknown>> {
    const r = await this.options.monitoring.retrain(job.model, {
      cause: 'schedule',
      reason: `scheduled at ${new Date(due).toISOString()}`,
      requestedBy: 'scheduler',
      evidence: { due },
      wait: false,
    });
    return { retraining: r.id, status: r.status };
  }

  /** Who runs the schedules, and each job's latest due run. */
  async status(): Promise<SchedulerStatus> {
    const rows = await this.db.all<{ job: string; due_at: number; status: string }>(
      'SELECT r.job, r.due_at, r.status FROM scheduler_runs r WHERE r.due_at = (SELECT MAX(due_at) FROM scheduler_runs x WHERE x.job = r.job)',
    );
    return {
      holder: this.holder,
      leader: this.leader,
      lease: (await this.lease.state()) ?? null,
      jobs: this.jobs.map((j) => {
        const r = rows.find((x) => x.job === j.id);
        return { id: j.id, lastDue: r ? Number(r.due_at) : null, lastStatus: r?.status ?? null };
      }),
    };
  }
}
