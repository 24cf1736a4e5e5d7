/**
 * @module serving/input-policy
 * What serving does with rows a model cannot judge well, decided per model (keel.yaml
 * `serving.inputPolicy`, and `serving.models.<name>.inputPolicy` over it):
 * - an unseen category: scored as missing (what training did with one) or refused;
 * - a row whose features are all missing (an online store that came back empty, a client that
 *   sent nulls): refused, or scored;
 * - a row missing more than `maxMissingShare` of its features, but not all: refused.
 * Every such row is reported to the caller, whatever the decision. One refused row refuses the
 * whole request, so no API has to invent a shape for a partial answer; the error names the rows.
 */
import { type InputPolicySettings, KeelError } from '../core/index.js';
import type { EncodedRows } from './encode.js';
import type { ServingModel } from './model.js';

export interface InputPolicy {
  unseenCategory: 'score-as-missing' | 'refuse';
  allMissing: 'refuse' | 'score';
  /** A row missing more than this share of its features (but not all: `allMissing`) is refused. */
  maxMissingShare: number;
}

/** Scores what training would have scored, and never a row with nothing in it. */
export const DEFAULT_INPUT_POLICY: InputPolicy = {
  unseenCategory: 'score-as-missing',
  allMissing: 'refuse',
  maxMissingShare: 1,
};

/** Input policies as keel.yaml gives them: for every model, and per model name over that. */
export interface InputPolicies {
  default?: InputPolicySettings;
  models?: Readonly<Record<string, InputPolicySettings | undefined>>;
}

/** The policy of model `name`: the defaults, then every model's settings, then its own. */
export function inputPolicyFor(name: string, policies: InputPolicies = {}): InputPolicy {
  const defined = (s: InputPolicySettings | undefined) =>
    Object.fromEntries(Object.entries(s ?? {}).filter(([, v]) => v !== undefined));
  return { ...DEFAULT_INPUT_POLICY, ...defined(policies.default), ...defined(policies.models?.[name]) };
}

export type InputIssueKind = 'unseen_category' | 'all_missing' | 'missing_share';

/** One row's issue as the caller sees it (snake_case, as the HTTP bodies are). */
export interface InputIssue {
  row: number;
  issue: InputIssueKind;
  column?: string;
  value?: string | number;
  /** For `missing_share`: the row's share of missing features. */
  missing_share?: number;
  action: 'scored' | 'scored_as_missing' | 'refused';
}

export interface Screened {
  issues: InputIssue[];
  /** Set when the policy refuses a row: the request must not be scored. */
  refusal?: KeelError;
}

/** How many refused rows the refusal's message spells out. */
const NAMED_ROWS = 5;

function describe(issue: InputIssue, policy: InputPolicy, width: number): string {
  switch (issue.issue) {
    case 'all_missing':
      return `row ${issue.row}: every feature is missing (allMissing: ${policy.allMissing})`;
    case 'unseen_category':
      return `row ${issue.row}: unseen category ${JSON.stringify(issue.value)} in column '${issue.column}' (unseenCategory: ${policy.unseenCategory})`;
    case 'missing_share':
      return `row ${issue.row}: ${Math.round((issue.missing_share ?? 0) * width)} of ${width} features missing, above maxMissingShare ${policy.maxMissingShare}`;
  }
}

/**
 * Judges encoded rows by the model's policy: the issues to report, and the refusal when a row
 * may not be scored.
 * @param lookedUp The features came from the online store (by entity key) rather than from the
 *   caller: a refusal then says the server lacks data (503), not that the caller sent bad rows (422).
 */
export function screenRows(
  model: ServingModel,
  encoded: EncodedRows,
  policy: InputPolicy,
  lookedUp: boolean,
): Screened {
  const { values, rows, unseen } = encoded;
  const width = model.width;
  const refuseUnseen = policy.unseenCategory === 'refuse';
  const issues: InputIssue[] = [];
  const refusedRows = new Set<number>();
  const unseenByRow = new Map<number, InputIssue[]>();
  for (const u of unseen) {
    const issue: InputIssue = {
      row: u.row,
      issue: 'unseen_category',
      column: u.column,
      value: u.value,
      action: refuseUnseen ? 'refused' : 'scored_as_missing',
    };
    unseenByRow.set(u.row, [...(unseenByRow.get(u.row) ?? []), issue]);
  }
  for (let i = 0; i < rows; i++) {
    const rowIssues = unseenByRow.get(i) ?? [];
    if (refuseUnseen && rowIssues.length > 0) refusedRows.add(i);
    let missing = 0;
    for (let j = i * width; j < (i + 1) * width; j++) if (Number.isNaN(values[j])) missing++;
    const share = width > 0 ? missing / width : 0;
    if (width > 0 && missing === width) {
      // allMissing alone decides these rows; maxMissingShare is for rows with something in them.
      const refuse = policy.allMissing === 'refuse';
      if (refuse) refusedRows.add(i);
      rowIssues.push({ row: i, issue: 'all_missing', action: refuse ? 'refused' : 'scored' });
    } else if (share > policy.maxMissingShare) {
      refusedRows.add(i);
      rowIssues.push({
        row: i,
        issue: 'missing_share',
        missing_share: Math.round(share * 1e4) / 1e4,
        action: 'refused',
      });
    }
    issues.push(...rowIssues);
  }
  if (refusedRows.size === 0) return { issues };
  // Nothing of a refused request is scored.
  for (const issue of issues) issue.action = 'refused';
  const named = issues.filter((x) => refusedRows.has(x.row) && isRefusing(x, policy)).slice(0, NAMED_ROWS);
  const more = refusedRows.size - new Set(named.map((x) => x.row)).size;
  // Features the online store lacks are the server's missing data, which may come back (503);
  // anything else is the rows themselves (422).
  const storeLacks = lookedUp && named.some((x) => x.issue !== 'unseen_category');
  const { name } = model.info;
  const message = `the input policy of model '${name}' refused ${refusedRows.size} row${refusedRows.size > 1 ? 's' : ''}: ${named
    .map((x) => describe(x, policy, width))
    .join('; ')}${more > 0 ? `; and ${more} more row${more > 1 ? 's' : ''}` : ''}${
    storeLacks
      ? ' (the online store lacks these features or holds them past their max age: materialize them, or declare allMissing: score)'
      : ''
  }`;
  return {
    issues,
    refusal: new KeelError(storeLacks ? 'TEMPORARILY_UNAVAILABLE' : 'DATA_VALIDATION_FAILED', message, {
      details: { input_issues: issues },
    }),
  };
}

/** Whether an issue is one the policy refuses a row for (a scored-as-missing category is not). */
function isRefusing(issue: InputIssue, policy: InputPolicy): boolean {
  return issue.issue !== 'unseen_category' || policy.unseenCategory === 'refuse';
}
