/**
 * @module pipeline/dag
 * The stage graph: an edge runs from the stage writing an output to every stage depending on it
 * (or on a path inside it). Topological order is stable (definition order breaks ties); a cycle is
 * refused with the stages that form it.
 */
import { KeelError } from '../core/index.js';
import { overlaps, rootRelative } from './paths.js';
import type { Project, Stage } from './schema.js';

export interface Dag {
  /** Every stage, in a topological order. */
  order: Stage[];
  /** stage name -> the stages it depends on. */
  upstream: Map<string, string[]>;
  /** stage name -> the stages depending on it. */
  downstream: Map<string, string[]>;
}

function findCycle(names: string[], upstream: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, 'open');
    stack.push(n);
    for (const u of upstream.get(n) ?? []) {
      if (state.get(u) === 'open') return [...stack.slice(stack.indexOf(u)), u];
      if (!state.has(u)) {
        const found = visit(u);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of names) {
    const found = !state.has(n) && visit(n);
    if (found) return found.reverse();
  }
  return names;
}

/**
 * Builds the DAG of a project.
 * @throws KeelError INVALID_PARAMETER_VALUE when the stages form a cycle.
 */
export function buildDag(project: Project): Dag {
  const outs = project.stages.flatMap((s) =>
    s.outs.map((o) => ({ stage: s.name, path: rootRelative(s, o.path) })),
  );
  const upstream = new Map<string, string[]>();
  const downstream = new Map<string, string[]>(project.stages.map((s) => [s.name, []]));
  for (const stage of project.stages) {
    const ups = new Set<string>();
    for (const dep of stage.deps.map((d) => rootRelative(stage, d))) {
      for (const out of outs) if (out.stage !== stage.name && overlaps(out.path, dep)) ups.add(out.stage);
    }
    upstream.set(stage.name, [...ups]);
    for (const u of ups) downstream.get(u)!.push(stage.name);
  }
  const indegree = new Map(project.stages.map((s) => [s.name, upstream.get(s.name)!.length]));
  const byName = new Map(project.stages.map((s) => [s.name, s]));
  const order: Stage[] = [];
  const ready = project.stages.filter((s) => indegree.get(s.name) === 0).map((s) => s.name);
  const position = new Map(project.stages.map((s, i) => [s.name, i]));
  while (ready.length > 0) {
    ready.sort((a, b) => position.get(a)! - position.get(b)!);
    const name = ready.shift()!;
    order.push(byName.get(name)!);
    for (const d of downstream.get(name)!) {
      indegree.set(d, indegree.get(d)! - 1);
      if (indegree.get(d) === 0) ready.push(d);
    }
  }
  if (order.length < project.stages.length) {
    const left = project.stages.filter((s) => indegree.get(s.name)! > 0).map((s) => s.name);
    const cycle = findCycle(left, upstream);
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `${project.file}: stage '${cycle[0]}': the stages form a cycle: ${cycle.join(' -> ')}`,
    );
  }
  return { order, upstream, downstream };
}

/**
 * The stages to reproduce for `targets` (names, or a `foreach`/`matrix` group name): the targets
 * and everything upstream of them, in topological order. No targets means every stage.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST for a target naming no stage.
 */
export function selectStages(project: Project, dag: Dag, targets: string[] = []): Stage[] {
  if (targets.length === 0) return dag.order;
  const wanted = new Set<string>();
  const add = (name: string) => {
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const u of dag.upstream.get(name) ?? []) add(u);
  };
  for (const t of targets) {
    const matches = project.stages.filter((s) => s.name === t || s.name.startsWith(`${t}@`));
    if (matches.length === 0) {
      throw new KeelError('RESOURCE_DOES_NOT_EXIST', `${project.file}: no stage named '${t}'`);
    }
    for (const m of matches) add(m.name);
  }
  return dag.order.filter((s) => wanted.has(s.name));
}

/** The edges of the DAG as `[from, to]` pairs, in topological order of `from`. */
export function dagEdges(dag: Dag): Array<[string, string]> {
  const position = new Map(dag.order.map((s, i) => [s.name, i]));
  return dag.order.flatMap((s) =>
    [...dag.downstream.get(s.name)!]
      .sort((a, b) => position.get(a)! - position.get(b)!)
      .map((d): [string, string] => [s.name, d]),
  );
}

/** `keel dag` as text: one line per stage in order, with the stages it waits for. */
export function renderDagText(dag: Dag): string {
  return dag.order
    .map((s) => {
      const ups = dag.upstream.get(s.name)!;
      return ups.length ? `${s.name} <- ${ups.join(', ')}` : s.name;
    })
    .join('\n');
}

/** `keel dag --mermaid`: the flowchart DVC's `dag --mermaid` prints. */
export function renderDagMermaid(dag: Dag): string {
  const ids = new Map(dag.order.map((s, i) => [s.name, `node${i + 1}`]));
  const lines = ['flowchart TD'];
  for (const s of dag.order) lines.push(`\t${ids.get(s.name)}["${s.name}"]`);
  for (const [from, to] of dagEdges(dag)) lines.push(`\t${ids.get(from)}-->${ids.get(to)}`);
  return lines.join('\n');
}
