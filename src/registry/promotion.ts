/**
 * @module registry/promotion
 * Governed stage changes. `promote` evaluates the target stage's gates; a failure changes nothing
 * (only the refused attempt is logged) unless an admin overrides it with a written reason. When
 * the policy asks for approval the request waits for a different user with the approver role.
 * `rollback` puts the previous Production version back in one transaction.
 */
import { KeelError } from '../core/index.js';
import type { SqlExecutor } from '../storage/index.js';
import type { AuditAction } from './audit.js';
import type { RegistryContext } from './context.js';
import { evaluateGates, formatGates, type GateResult } from './gates.js';
import { applyStage } from './lifecycle.js';
import { parseStage, parseVersion } from './names.js';
import { type Policy, stagePolicy } from './policy.js';
import { auditRefusal, requireProtected } from './protection.js';
import { productionRow, rehearseRollback, rollbackIn } from './rollback.js';
import { lockModel } from './rows.js';
import type { Stage } from './types.js';
import type { VersionStore } from './versions.js';

export interface PromoteOptions {
  /** Archive the versions now in the target stage (default: only when the target is Production). */
  archiveExisting?: boolean;
  /** Apply despite failed gates: admins only, with `reason`. */
  override?: boolean;
  reason?: string;
}

export interface PromotionResult {
  status: 'promoted' | 'pending_approval';
  name: string;
  version: string;
  from: Stage;
  to: Stage;
  gates: GateResult[];
  request_id?: number;
}

export interface PromotionRequest {
  id: number;
  name: string;
  version: string;
  to_stage: Stage;
  requested_by: string;
  requested_at: number;
  status: 'pending' | 'approved' | 'rejected';
  override: boolean;
  gates: GateResult[];
  reason: string;
  decided_by?: string;
}

export class Promotions {
  constructor(
    private readonly ctx: RegistryContext,
    private readonly versions: VersionStore,
    private readonly policy: Policy,
  ) {}

  /** Evaluates the gates `stage` asks of a version, without changing anything. */
  async check(name: string, version: number | string, stage: Stage): Promise<GateResult[]> {
    const row = await this.versions.row(name, version);
    const run = row.run_id ? await this.ctx.tracking.runs.get(row.run_id).catch(() => undefined) : undefined;
    const replaced = await productionRow(this.ctx.db, name, Number(row.version));
    return evaluateGates(
      this.ctx,
      stagePolicy(this.policy, stage).gates,
      { row, run, stage, replaced },
      (n, v) => rehearseRollback(this.ctx, n, v),
    );
  }

  private async audit(
    tx: SqlExecutor | undefined,
    entry: {
      action: AuditAction;
      outcome: 'applied' | 'refused' | 'pending';
      name: string;
      version: string;
      from?: string;
      to?: string;
      gates?: unknown;
      reason?: string;
    },
  ) {
    await this.ctx.audit.append(
      { ts: this.ctx.clock.now(), actor: this.ctx.actor.user, ...entry, reason: entry.reason ?? '' },
      tx,
    );
  }

  /**
   * Moves a version to `stage` if every gate passes (or an admin overrides), or files an approval
   * request when the policy asks for one.
   * @throws FAILED_PRECONDITION naming each failed gate (`details.gates` has every result);
   *   PERMISSION_DENIED for an override by a non-admin; INVALID_PARAMETER_VALUE for an override without a reason.
   */
  async promote(
    name: string,
    version: number | string,
    stageName: string,
    options: PromoteOptions = {},
  ): Promise<PromotionResult> {
    const stage = parseStage(stageName);
    const v = parseVersion(version);
    this.ctx.require('write', `promote version ${v} of '${name}' to ${stage}`);
    if (options.override) {
      this.ctx.require('override', `override the gates of '${name}'`);
      if (!options.reason?.trim())
        throw new KeelError('INVALID_PARAMETER_VALUE', 'An override needs a written reason (--reason)');
    }
    const row = await this.versions.row(name, v);
    const gates = await this.check(name, v, stage);
    const failed = gates.filter((g) => !g.passed);
    const base = { name, version: String(v), from: row.current_stage, to: stage };
    if (failed.length > 0 && !options.override) {
      await this.audit(undefined, {
        action: 'promote',
        outcome: 'refused',
        ...base,
        gates,
        reason: options.reason,
      });
      throw new KeelError(
        'FAILED_PRECONDITION',
        `Version ${v} of '${name}' cannot move to ${stage}: failed gate${failed.length > 1 ? 's' : ''} ${failed.map((g) => `'${g.gate}'`).join(', ')}`,
        { details: { gates, report: formatGates(gates) } },
      );
    }
    const archive = options.archiveExisting ?? stage === 'Production';
    if (stagePolicy(this.policy, stage).requireApproval) {
      const id = await this.ctx.db.transaction(async (tx) => {
        await lockModel(tx, name, this.ctx.clock.now());
        await tx.run(
          `INSERT INTO promotion_requests (name, version, to_stage, requested_by, requested_at, status, gates, override, archive_existing, reason)
           VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)`,
          [
            name,
            v,
            stage,
            this.ctx.actor.user,
            this.ctx.clock.now(),
            JSON.stringify(gates),
            options.override ? 1 : 0,
            archive ? 1 : 0,
            options.reason ?? '',
          ],
        );
        const r = await tx.get<{ id: number }>(
          'SELECT MAX(id) AS id FROM promotion_requests WHERE name = ?',
          [name],
        );
        await this.audit(tx, {
          action: 'approval_requested',
          outcome: 'pending',
          ...base,
          gates,
          reason: options.reason,
        });
        return Number(r!.id);
      });
      this.ctx.events.emit('approval.requested', {
        request_id: id,
        ...base,
        requested_by: this.ctx.actor.user,
      });
      return { status: 'pending_approval', ...base, gates, request_id: id };
    }
    await this.apply(
      name,
      v,
      stage,
      archive,
      options.override && failed.length > 0 ? 'override' : 'promote',
      gates,
      options.reason,
    );
    return { status: 'promoted', ...base, gates };
  }

  private async apply(
    name: string,
    v: number,
    stage: Stage,
    archive: boolean,
    action: AuditAction,
    gates: unknown,
    reason = '',
    before?: (tx: SqlExecutor) => Promise<void>,
  ) {
    const change = await auditRefusal(this.ctx, { action, name, version: String(v), to: stage, reason }, () =>
      this.ctx.db.transaction(async (tx) => {
        await lockModel(tx, name, this.ctx.clock.now());
        await before?.(tx);
        const current = await tx.get<{ current_stage: Stage }>(
          'SELECT current_stage FROM model_versions WHERE name = ? AND version = ?',
          [name, v],
        );
        if (current?.current_stage === 'Production' && stage !== 'Production')
          requireProtected(this.ctx, 'leaveProduction', `move version ${v} of '${name}' out of Production`);
        const c = await applyStage(this.ctx, tx, name, v, stage, archive);
        await this.audit(tx, {
          action,
          outcome: 'applied',
          name,
          version: String(v),
          from: c.from,
          to: stage,
          gates,
          reason,
        });
        return c;
      }),
    );
    this.ctx.events.emit('model_version.stage_changed', {
      name,
      version: String(v),
      from: change.from,
      to: stage,
      archived: change.archived.map(String),
    });
    return change;
  }

  /** MLflow's transition-stage: gates and approval apply as for `promote`, archiving only when asked. */
  async transition(
    name: string,
    version: number | string,
    stage: string,
    archiveExisting: boolean,
  ): Promise<PromotionResult> {
    const result = await this.promote(name, version, stage, { archiveExisting });
    if (result.status === 'pending_approval') {
      throw new KeelError(
        'FAILED_PRECONDITION',
        `Moving version ${result.version} of '${name}' to ${result.to} needs approval: request ${result.request_id} is waiting for an approver`,
        {
          details: { request_id: result.request_id },
        },
      );
    }
    return result;
  }

  async requests(name?: string, status?: PromotionRequest['status']): Promise<PromotionRequest[]> {
    const where = [name ? 'name = ?' : '', status ? 'status = ?' : ''].filter(Boolean);
    const rows = await this.ctx.db.all<Record<string, unknown>>(
      `SELECT * FROM promotion_requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id ASC`,
      [name, status].filter((x): x is string => Boolean(x)),
    );
    return rows.map((r) => ({
      id: Number(r.id),
      name: String(r.name),
      version: String(r.version),
      to_stage: r.to_stage as Stage,
      requested_by: String(r.requested_by),
      requested_at: Number(r.requested_at),
      status: r.status as PromotionRequest['status'],
      override: Number(r.override) === 1,
      gates: JSON.parse(String(r.gates)),
      reason: String(r.reason),
      ...(r.decided_by ? { decided_by: String(r.decided_by) } : {}),
    }));
  }

  private async pending(id: number): Promise<PromotionRequest> {
    const found = (await this.requests()).find((r) => r.id === id);
    if (!found) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `Promotion request ${id} does not exist`);
    if (found.status !== 'pending')
      throw new KeelError('FAILED_PRECONDITION', `Promotion request ${id} is already ${found.status}`);
    if (found.requested_by === this.ctx.actor.user) {
      throw new KeelError(
        'PERMISSION_DENIED',
        `User '${this.ctx.actor.user}' requested promotion ${id}: a different user must decide it`,
      );
    }
    return found;
  }

  /**
   * Approves a pending request and applies it; the gates are evaluated again first.
   * @throws PERMISSION_DENIED for a non-approver or the requester; FAILED_PRECONDITION when a gate now fails.
   */
  async approve(id: number, reason = ''): Promise<PromotionResult> {
    this.ctx.require('approve', `approve promotion request ${id}`);
    const req = await this.pending(id);
    const gates = await this.check(req.name, req.version, req.to_stage);
    const failed = gates.filter((g) => !g.passed);
    if (failed.length > 0 && !req.override) {
      throw new KeelError(
        'FAILED_PRECONDITION',
        `Request ${id} can no longer be applied: failed gate(s) ${failed.map((g) => `'${g.gate}'`).join(', ')}`,
        {
          details: { gates, report: formatGates(gates) },
        },
      );
    }
    const requestRow = await this.ctx.db.get<{ archive_existing: number }>(
      'SELECT archive_existing FROM promotion_requests WHERE id = ?',
      [id],
    );
    const change = await this.apply(
      req.name,
      Number(req.version),
      req.to_stage,
      requestRow?.archive_existing === 1,
      'approve',
      gates,
      reason,
      async (tx) => {
        const { changes } = await tx.run(
          "UPDATE promotion_requests SET status = 'approved', decided_by = ?, decided_at = ? WHERE id = ? AND status = 'pending'",
          [this.ctx.actor.user, this.ctx.clock.now(), id],
        );
        if (changes === 0)
          throw new KeelError('FAILED_PRECONDITION', `Promotion request ${id} was decided meanwhile`);
      },
    );
    this.ctx.events.emit('approval.given', {
      request_id: id,
      name: req.name,
      version: req.version,
      approved_by: this.ctx.actor.user,
    });
    return {
      status: 'promoted',
      name: req.name,
      version: req.version,
      from: change.from,
      to: req.to_stage,
      gates,
      request_id: id,
    };
  }

  /** Rejects a pending request. @throws PERMISSION_DENIED for a non-approver or the requester. */
  async reject(id: number, reason = ''): Promise<void> {
    this.ctx.require('approve', `reject promotion request ${id}`);
    const req = await this.pending(id);
    await this.ctx.db.transaction(async (tx) => {
      await tx.run(
        "UPDATE promotion_requests SET status = 'rejected', decided_by = ?, decided_at = ? WHERE id = ?",
        [this.ctx.actor.user, this.ctx.clock.now(), id],
      );
      await this.audit(tx, {
        action: 'reject',
        outcome: 'applied',
        name: req.name,
        version: req.version,
        to: req.to_stage,
        reason,
      });
    });
  }

  /** Puts the previous Production version back, atomically, and records it. @throws FAILED_PRECONDITION when there is none. */
  async rollback(name: string, reason = ''): Promise<{ name: string; from: string; to: string }> {
    this.ctx.require('write', `roll back '${name}'`);
    const { from, to } = await auditRefusal(
      this.ctx,
      { action: 'rollback', name, to: 'Production', reason },
      async () => {
        requireProtected(this.ctx, 'rollback', `roll back '${name}'`);
        return this.ctx.db.transaction(async (tx) => {
          if (!(await lockModel(tx, name, this.ctx.clock.now())))
            throw new KeelError('RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${name} not found`);
          const r = await rollbackIn(this.ctx, tx, name);
          await this.audit(tx, {
            action: 'rollback',
            outcome: 'applied',
            name,
            version: String(r.to),
            from: String(r.from),
            to: 'Production',
            reason,
          });
          return r;
        });
      },
    );
    this.ctx.events.emit('model_version.stage_changed', {
      name,
      version: String(to),
      from: 'Archived',
      to: 'Production',
      rolled_back: String(from),
    });
    return { name, from: String(from), to: String(to) };
  }
}
