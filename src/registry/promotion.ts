/**
 * @module registry/promotion
 * Governed stage and alias changes. `promote` (a stage) and `setAlias` (an alias) evaluate what
 * the policy asks of the target (`checklistFor`: a stage's and an alias's gates, and both when
 * the target is Production or the production alias, which move together); a failure changes
 * nothing (only the refused attempt is logged) unless an admin overrides it with a written reason.
 * When the policy asks for approval the request waits for a different user with the approver
 * role; asking again for the same change finds the request already waiting. `rollback` puts the
 * previous Production version back in one transaction.
 */
import { KeelError } from '../core/index.js';
import type { SqlExecutor } from '../storage/index.js';
import type { AuditAction } from './audit.js';
import { type RegistryContext, versionNotFound } from './context.js';
import { evaluateGates, formatGates, type GateResult } from './gates.js';
import { aliasVersion, applyStage, deleteAlias, setAlias } from './lifecycle.js';
import { parseStage, parseVersion, validateAlias } from './names.js';
import { checklistFor, isProductionAlias, isProtectedAlias, type Policy } from './policy.js';
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
  /** The version's stage after the change (its own when only an alias moves). */
  to: Stage;
  /** The alias pointed at the version, when the change is an alias's. */
  alias?: string;
  gates: GateResult[];
  request_id?: number;
}

export interface PromotionRequest {
  id: number;
  name: string;
  version: string;
  /** The stage the version moves to; null when only an alias moves. */
  to_stage: Stage | null;
  /** The alias the request points at the version, if it is an alias's. */
  alias?: string;
  requested_by: string;
  requested_at: number;
  status: 'pending' | 'approved' | 'rejected';
  override: boolean;
  gates: GateResult[];
  reason: string;
  decided_by?: string;
}

/** A governed change: a version to a stage, an alias to a version, or both (the production alias). */
interface Move {
  stage?: Stage;
  alias?: string;
}

/** The words of a change in messages: `move to Production`, `point alias 'challenger' at`. */
const describeMove = (m: Move): string =>
  m.alias ? `take alias '${m.alias}'${m.stage ? ` (and ${m.stage})` : ''}` : `move to ${m.stage}`;

export class Promotions {
  constructor(
    private readonly ctx: RegistryContext,
    private readonly versions: VersionStore,
    private readonly policy: Policy,
  ) {}

  /** The change setting `alias` makes: the production alias also moves its version to Production. */
  private aliasMove(alias: string): Move {
    const production = this.policy.productionAlias;
    return production && isProductionAlias(this.policy, alias)
      ? { alias: production, stage: 'Production' }
      : { alias };
  }

  /** Evaluates the gates `stage` asks of a version, without changing anything. */
  async check(name: string, version: number | string, stage: Stage): Promise<GateResult[]> {
    return this.evaluate(name, version, { stage });
  }

  private async evaluate(name: string, version: number | string, move: Move): Promise<GateResult[]> {
    const row = await this.versions.row(name, version);
    const run = row.run_id ? await this.ctx.tracking.runs.get(row.run_id).catch(() => undefined) : undefined;
    const replaced = await productionRow(this.ctx.db, name, Number(row.version));
    return evaluateGates(
      this.ctx,
      checklistFor(this.policy, move).gates,
      { row, run, stage: move.stage ?? row.current_stage, replaced },
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
    return this.govern(name, version, { stage }, options.archiveExisting ?? stage === 'Production', options);
  }

  /**
   * Points `alias` at a version through the gates and approval the policy gives the alias (none by
   * default but for the production alias, which also moves the version to Production, archiving
   * the one there, and passes Production's gates too). Moving an alias `protection.aliases` lists
   * needs `protection.deleteProtected`.
   * @throws as `promote`; INVALID_PARAMETER_VALUE for a bad alias name.
   */
  async setAlias(
    name: string,
    version: number | string,
    alias: string,
    options: Omit<PromoteOptions, 'archiveExisting'> = {},
  ): Promise<PromotionResult> {
    validateAlias(alias);
    return this.govern(name, version, this.aliasMove(alias), true, options);
  }

  private async govern(
    name: string,
    version: number | string,
    move: Move,
    archive: boolean,
    options: Omit<PromoteOptions, 'archiveExisting'>,
  ): Promise<PromotionResult> {
    const v = parseVersion(version);
    const what = `${describeMove(move)} version ${v} of '${name}'`;
    this.ctx.require('write', what);
    if (options.override) {
      this.ctx.require('override', `override the gates of '${name}'`);
      if (!options.reason?.trim())
        throw new KeelError('INVALID_PARAMETER_VALUE', 'An override needs a written reason (--reason)');
    }
    const row = await this.versions.row(name, v);
    const gates = await this.evaluate(name, v, move);
    const failed = gates.filter((g) => !g.passed);
    const base = {
      name,
      version: String(v),
      from: row.current_stage,
      to: move.stage ?? row.current_stage,
      ...(move.alias ? { alias: move.alias } : {}),
    };
    const target = move.alias ?? move.stage ?? '';
    if (failed.length > 0 && !options.override) {
      await this.audit(undefined, {
        action: move.alias ? 'alias_set' : 'promote',
        outcome: 'refused',
        ...base,
        to: target,
        gates,
        reason: options.reason,
      });
      throw new KeelError(
        'FAILED_PRECONDITION',
        `Version ${v} of '${name}' cannot ${describeMove(move)}: failed gate${failed.length > 1 ? 's' : ''} ${failed.map((g) => `'${g.gate}'`).join(', ')}`,
        { details: { gates, report: formatGates(gates) } },
      );
    }
    if (checklistFor(this.policy, move).requireApproval) {
      const id = await this.request(name, v, move, archive, gates, options);
      return { status: 'pending_approval', ...base, gates, request_id: id };
    }
    await this.apply(
      name,
      v,
      move,
      archive,
      options.override && failed.length > 0 ? 'override' : 'promote',
      gates,
      options.reason,
    );
    return { status: 'promoted', ...base, gates };
  }

  /** Files an approval request, or finds the same one already waiting. */
  private async request(
    name: string,
    v: number,
    move: Move,
    archive: boolean,
    gates: GateResult[],
    options: Omit<PromoteOptions, 'archiveExisting'>,
  ): Promise<number> {
    const base = { name, version: String(v), to: move.alias ?? move.stage };
    const filed = await this.ctx.db.transaction(async (tx) => {
      await lockModel(tx, name, this.ctx.clock.now());
      const waiting = await tx.get<{ id: number }>(
        `SELECT id FROM promotion_requests WHERE name = ? AND version = ? AND to_stage = ? AND COALESCE(alias, '') = ?
           AND override = ? AND status = 'pending' ORDER BY id LIMIT 1`,
        [name, v, move.stage ?? '', move.alias ?? '', options.override ? 1 : 0],
      );
      if (waiting) return { id: Number(waiting.id), existing: true };
      await tx.run(
        `INSERT INTO promotion_requests (name, version, to_stage, alias, requested_by, requested_at, status, gates, override, archive_existing, reason)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)`,
        [
          name,
          v,
          move.stage ?? '',
          move.alias ?? null,
          this.ctx.actor.user,
          this.ctx.clock.now(),
          JSON.stringify(gates),
          options.override ? 1 : 0,
          archive ? 1 : 0,
          options.reason ?? '',
        ],
      );
      const r = await tx.get<{ id: number }>('SELECT MAX(id) AS id FROM promotion_requests WHERE name = ?', [
        name,
      ]);
      await this.audit(tx, {
        action: 'approval_requested',
        outcome: 'pending',
        ...base,
        gates,
        reason: options.reason,
      });
      return { id: Number(r!.id), existing: false };
    });
    if (!filed.existing)
      this.ctx.events.emit('approval.requested', {
        request_id: filed.id,
        ...base,
        ...(move.alias ? { alias: move.alias } : {}),
        requested_by: this.ctx.actor.user,
      });
    return filed.id;
  }

  private async apply(
    name: string,
    v: number,
    move: Move,
    archive: boolean,
    action: AuditAction,
    gates: unknown,
    reason = '',
    before?: (tx: SqlExecutor) => Promise<void>,
  ) {
    const entry = {
      action: move.alias ? ('alias_set' as const) : action,
      name,
      version: String(v),
      to: move.alias ?? move.stage,
      reason,
    };
    const change = await auditRefusal(this.ctx, entry, () =>
      this.ctx.db.transaction(async (tx) => {
        await lockModel(tx, name, this.ctx.clock.now());
        await before?.(tx);
        const current = await tx.get<{ current_stage: Stage }>(
          'SELECT current_stage FROM model_versions WHERE name = ? AND version = ?',
          [name, v],
        );
        if (!current) throw versionNotFound(name, v);
        const stage = move.stage;
        if (stage && current.current_stage === 'Production' && stage !== 'Production')
          requireProtected(this.ctx, 'leaveProduction', `move version ${v} of '${name}' out of Production`);
        if (
          move.alias &&
          isProtectedAlias(this.policy, move.alias) &&
          !isProductionAlias(this.policy, move.alias)
        )
          requireProtected(
            this.ctx,
            'deleteProtected',
            `move the protected alias '${move.alias}' of '${name}'`,
          );
        const c = stage ? await applyStage(this.ctx, tx, name, v, stage, archive) : undefined;
        if (c) {
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
        }
        let previous: number | undefined;
        if (move.alias) {
          // The production alias was moved by applyStage (it names the newest Production version).
          previous = isProductionAlias(this.policy, move.alias)
            ? c?.previousAlias
            : await setAlias(tx, name, move.alias, v);
          await this.audit(tx, {
            action: 'alias_set',
            outcome: 'applied',
            name,
            version: String(v),
            from: previous === undefined ? undefined : String(previous),
            to: move.alias,
            gates: c ? undefined : gates,
            reason,
          });
        }
        return { stage: c, previous };
      }),
    );
    if (change.stage && move.stage)
      this.ctx.events.emit('model_version.stage_changed', {
        name,
        version: String(v),
        from: change.stage.from,
        to: move.stage,
        archived: change.stage.archived.map(String),
      });
    if (move.alias)
      this.ctx.events.emit('model_version_alias.created', {
        name,
        alias: move.alias,
        version: String(v),
        previous_version: change.previous === undefined ? null : String(change.previous),
      });
    return change;
  }

  /**
   * Removes `alias`. Removing the production alias takes its model out of Production (its versions
   * there are archived), which needs `protection.leaveProduction`; removing a listed protected
   * alias needs `protection.deleteProtected`.
   * @throws RESOURCE_DOES_NOT_EXIST when the model or the alias is missing.
   */
  async deleteAlias(name: string, alias: string): Promise<void> {
    this.ctx.require('write', `delete alias '${alias}' of '${name}'`);
    const production = isProductionAlias(this.policy, alias);
    if (production && this.policy.productionAlias) alias = this.policy.productionAlias;
    const { before, archived } = await auditRefusal(
      this.ctx,
      { action: 'alias_delete', name, from: alias },
      () =>
        this.ctx.db.transaction(async (tx) => {
          if (!(await lockModel(tx, name, this.ctx.clock.now())))
            throw new KeelError('RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${name} not found`);
          if (production)
            requireProtected(
              this.ctx,
              'leaveProduction',
              `delete alias '${alias}' of '${name}', which takes its versions out of Production`,
            );
          else if (isProtectedAlias(this.policy, alias))
            requireProtected(
              this.ctx,
              'deleteProtected',
              `delete the protected alias '${alias}' of '${name}'`,
            );
          const prev = production ? await aliasVersion(tx, name, alias) : await deleteAlias(tx, name, alias);
          if (prev === undefined)
            throw new KeelError(
              'RESOURCE_DOES_NOT_EXIST',
              `Registered model alias ${alias} not found on model '${name}'`,
            );
          const moved: number[] = [];
          if (production) {
            const held = await tx.all<{ version: number }>(
              "SELECT version FROM model_versions WHERE name = ? AND current_stage = 'Production' ORDER BY version",
              [name],
            );
            for (const h of held) {
              await applyStage(this.ctx, tx, name, Number(h.version), 'Archived', false);
              moved.push(Number(h.version));
              await this.audit(tx, {
                action: 'stage',
                outcome: 'applied',
                name,
                version: String(h.version),
                from: 'Production',
                to: 'Archived',
                reason: `alias '${alias}' deleted`,
              });
            }
          }
          await this.audit(tx, {
            action: 'alias_delete',
            outcome: 'applied',
            name,
            version: String(prev),
            from: alias,
          });
          return { before: prev, archived: moved };
        }),
    );
    for (const version of archived)
      this.ctx.events.emit('model_version.stage_changed', {
        name,
        version: String(version),
        from: 'Production',
        to: 'Archived',
        archived: [],
      });
    this.ctx.events.emit('model_version_alias.deleted', { name, alias, version: String(before) });
  }

  /** MLflow's transition-stage: gates and approval apply as for `promote`, archiving only when asked. */
  async transition(
    name: string,
    version: number | string,
    stage: string,
    archiveExisting: boolean,
  ): Promise<PromotionResult> {
    return pendingAsError(await this.promote(name, version, stage, { archiveExisting }));
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
      to_stage: r.to_stage ? (r.to_stage as Stage) : null,
      ...(r.alias ? { alias: String(r.alias) } : {}),
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
    const move: Move = {
      ...(req.to_stage ? { stage: req.to_stage } : {}),
      ...(req.alias ? { alias: req.alias } : {}),
    };
    const gates = await this.evaluate(req.name, req.version, move);
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
    const before = await this.versions.row(req.name, req.version);
    const change = await this.apply(
      req.name,
      Number(req.version),
      move,
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
      from: change.stage?.from ?? before.current_stage,
      to: req.to_stage ?? before.current_stage,
      ...(req.alias ? { alias: req.alias } : {}),
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
        to: req.alias ?? req.to_stage ?? undefined,
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

/**
 * An MLflow route's answer to a change waiting for approval: MLflow has no pending state, so it is
 * an error (INVALID_STATE to MLflow's client) naming the request and every gate's result.
 */
export function pendingAsError(result: PromotionResult): PromotionResult {
  if (result.status !== 'pending_approval') return result;
  const what = result.alias
    ? `Pointing alias '${result.alias}' of '${result.name}' at version ${result.version}`
    : `Moving version ${result.version} of '${result.name}' to ${result.to}`;
  const report = formatGates(result.gates);
  throw new KeelError(
    'FAILED_PRECONDITION',
    `${what} needs approval: request ${result.request_id} is waiting for an approver (keel models approve ${result.request_id})`,
    { details: { request_id: result.request_id, gates: result.gates, report } },
  );
}
