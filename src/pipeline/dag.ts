/**
 * @module pipeline/dag
 * The stage graph as DVC builds it (`dvc/repo/graph.py`): an edge from a stage to every stage
 * writing an output its deps (file deps, then params files) equal, lie inside or contain. Repro
 * order is networkx's depth-first post-order over stages in dvc.yaml order, upstream stages in the
 * order the deps name them, so the lock lists new stages as DVC would; a frozen stage's edges are
 * cut for planning. `dag` prints DVC's Mermaid (`--mermaid`, `--md`) and DOT (`--dot`) forms, of
 * stages or, with `--outs`, of outputs.
 */
import { KeelError } from '../core/index.js';
import { rootRelative } from './paths.js';
import type { Project, Stage } from './schema.js';

export interface Dag {
  /** Every stage, in DVC's plan order for a full repro. */
  order: Stage[];
  /** stage name -> the stages it depends on, in edge order. */
  upstream: Map<string, string[]>;
  /** stage name -> the stages depending on it. */
  downstream: Map<string, string[]>;
}

/** Paths a stage depends on (file deps, then params files), root-relative. */
export function depPaths(stage: Stage): string[] {
  return [...stage.deps, ...stage.params.map((p) => p.file)].map((d) => rootRelative(stage, d));
}

/** Outputs overlapping `dep`: those containing it (shortest first), then those inside it. */
function overlapping(
  dep: string,
  outs: Array<{ stage: string; path: string }>,
): Array<{ stage: string; path: string }> {
  const prefixes = outs
    .filter((o) => o.path === dep || o.path === '.' || dep.startsWith(`${o.path}/`))
    .sort((a, b) => a.path.length - b.path.length);
  const inside = outs.filter((o) => o.path !== dep && (dep === '.' || o.path.startsWith(`${dep}/`)));
  return [...prefixes, ...inside];
}

/** networkx's `dfs_postorder_nodes` over `nodes` (in order), following `next`. */
export function dfsPostorder(
  nodes: string[],
  next: (n: string) => string[],
  allowed?: Set<string>,
): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const start of nodes) {
    if (seen.has(start)) continue;
    seen.add(start);
    const stack: Array<{ node: string; children: string[]; i: number }> = [
      { node: start, children: next(start), i: 0 },
    ];
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top.i < top.children.length) {
        const child = top.children[top.i++];
        if (seen.has(child) || (allowed && !allowed.has(child))) continue;
        seen.add(child);
        stack.push({ node: child, children: next(child), i: 0 });
      } else {
        stack.pop();
        out.push(top.node);
      }
    }
  }
  return out;
}

function findCycle(names: string[], upstream: Map<string, string[]>): string[] | undefined {
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
  return undefined;
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
    const ups: string[] = [];
    for (const dep of depPaths(stage)) {
      for (const o of overlapping(dep, outs)) if (!ups.includes(o.stage)) ups.push(o.stage);
    }
    upstream.set(stage.name, ups);
    for (const u of ups) if (u !== stage.name) downstream.get(u)!.push(stage.name);
  }
  const names = project.stages.map((s) => s.name);
  const cycle = findCycle(names, upstream);
  if (cycle) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `${project.file}: stage '${cycle[0]}': the stages form a cycle: ${cycle.join(' -> ')}`,
    );
  }
  const byName = new Map(project.stages.map((s) => [s.name, s]));
  const order = dfsPostorder(names, (n) => upstream.get(n)!).map((n) => byName.get(n)!);
  return { order, upstream, downstream };
}

/**
 * The stages a target names: a stage, a `foreach`/`matrix` group, `dvc.yaml:name`, or an output path.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST for a target naming nothing.
 */
export function collectTargets(project: Project, targets: string[]): Stage[] {
  const found: Stage[] = [];
  for (const raw of targets) {
    const t = raw.startsWith(`${project.file}:`) ? raw.slice(project.file.length + 1) : raw;
    let matches = project.stages.filter((s) => s.name === t || s.name.startsWith(`${t}@`));
    if (t === project.file) matches = project.stages;
    if (matches.length === 0) {
      const path = rootRelative({ wdir: '.' }, t);
      matches = project.stages.filter((s) => s.outs.some((o) => rootRelative(s, o.path) === path));
    }
    if (matches.length === 0)
      throw new KeelError('RESOURCE_DOES_NOT_EXIST', `${project.file}: no stage named '${raw}'`);
    for (const m of matches) if (!found.includes(m)) found.push(m);
  }
  return found;
}

/**
 * The stages to reproduce for `targets` and the order DVC runs them in: the targets and
 * everything upstream of them (not past a frozen stage). No targets means every stage.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST for a target naming no stage.
 */
export function selectStages(project: Project, dag: Dag, targets: string[] = []): Stage[] {
  const sources = targets.length ? collectTargets(project, targets) : project.stages;
  const byName = new Map(project.stages.map((s) => [s.name, s]));
  const active = (n: string) => (byName.get(n)!.frozen ? [] : dag.upstream.get(n)!);
  const reached = new Set<string>();
  for (const s of sources) for (const n of dfsPostorder([s.name], active)) reached.add(n);
  const names = project.stages.map((s) => s.name).filter((n) => reached.has(n));
  return dfsPostorder(names, active, reached).map((n) => byName.get(n)!);
}

/** A graph for printing: nodes in order, edges from a node to what it depends on. */
export interface PrintGraph {
  nodes: string[];
  edges: Array<[string, string]>;
}

/** The stage graph for `dag`, or with `outs` the output graph (labels as DVC shows them). */
export function printGraph(
  project: Project,
  dag: Dag,
  label: (stage: Stage, out: string) => string,
  outs = false,
): PrintGraph {
  if (!outs) {
    return {
      nodes: project.stages.map((s) => s.name),
      edges: project.stages.flatMap((s) =>
        dag.upstream.get(s.name)!.map((u): [string, string] => [s.name, u]),
      ),
    };
  }
  const all = project.stages.flatMap((s) =>
    s.outs.map((o) => ({ stage: s, path: rootRelative(s, o.path), label: label(s, o.path) })),
  );
  // DVC lists outputs through a trie: grouped by leading folder, in the order they first appear.
  const ordered: typeof all = [];
  const place = (items: typeof all, depth: number) => {
    const groups = new Map<string, typeof all>();
    for (const item of items) {
      const part = item.path.split('/')[depth] ?? '';
      groups.set(part, [...(groups.get(part) ?? []), item]);
    }
    for (const group of groups.values()) {
      const here = group.filter((i) => i.path.split('/').length === depth + 1);
      ordered.push(...here);
      const deeper = group.filter((i) => i.path.split('/').length > depth + 1);
      if (deeper.length) place(deeper, depth + 1);
    }
  };
  place(all, 0);
  const edges: Array<[string, string]> = [];
  for (const stage of project.stages) {
    for (const dep of depPaths(stage)) {
      for (const target of overlapping(
        dep,
        all.map((o) => ({ stage: o.label, path: o.path })),
      )) {
        for (const from of all.filter((o) => o.stage === stage)) {
          if (!edges.some(([a, b]) => a === from.label && b === target.stage))
            edges.push([from.label, target.stage]);
        }
      }
    }
  }
  return { nodes: ordered.map((o) => o.label), edges };
}

/** DVC's `_filter`: the targets and what they depend on, within their connected part. */
export function filterGraph(graph: PrintGraph, targets: string[]): PrintGraph {
  if (targets.length === 0) return graph;
  for (const t of targets) {
    if (!graph.nodes.includes(t))
      throw new KeelError('RESOURCE_DOES_NOT_EXIST', `'${t}' is not in the graph`);
  }
  const next = (n: string) => graph.edges.filter(([a]) => a === n).map(([, b]) => b);
  const keep = new Set(dfsPostorder(targets, next));
  return {
    nodes: graph.nodes.filter((n) => keep.has(n)),
    edges: graph.edges.filter(([a, b]) => keep.has(a) && keep.has(b)),
  };
}

/** The weakly connected parts of a graph, each found from its first node in order. */
function components(graph: PrintGraph): PrintGraph[] {
  const neighbours = new Map<string, string[]>(graph.nodes.map((n) => [n, []]));
  for (const [a, b] of graph.edges) {
    neighbours.get(a)!.push(b);
    neighbours.get(b)!.push(a);
  }
  const seen = new Set<string>();
  const out: PrintGraph[] = [];
  for (const n of graph.nodes) {
    if (seen.has(n)) continue;
    const part = new Set(dfsPostorder([n], (x) => neighbours.get(x)!));
    for (const x of part) seen.add(x);
    out.push({
      nodes: graph.nodes.filter((x) => part.has(x)),
      edges: graph.edges.filter(([a]) => part.has(a)),
    });
  }
  return out;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** `dag --mermaid` (and, wrapped in a code fence, `--md`) as DVC prints it. */
export function renderMermaid(graph: PrintGraph, markdown = false): string {
  let text = 'flowchart TD';
  let total = 0;
  for (const part of components(graph)) {
    const ids = new Map<string, string>();
    for (const node of [...part.nodes].sort(byText)) {
      total++;
      ids.set(node, `node${total}`);
      text += `\n\t${ids.get(node)}["${node}"]`;
    }
    const edges = part.edges.map(([a, b]): [string, string] => [b, a]);
    edges.sort(([a1, b1], [a2, b2]) => byText(a1, a2) || byText(b1, b2));
    for (const [a, b] of edges) text += `\n\t${ids.get(a)}-->${ids.get(b)}`;
  }
  return markdown ? `\`\`\`mermaid\n${text}\n\`\`\`` : text;
}

/** `dag --dot`: pydot's text for the reversed graph, labels quoted. */
export function renderDot(graph: PrintGraph): string {
  const q = (s: string) => (s.startsWith('"') && s.endsWith('"') ? s : `"${s}"`);
  const lines = ['strict digraph  {', ...graph.nodes.map((n) => `${q(n)};`)];
  for (const [a, b] of graph.edges) lines.push(`${q(b)} -> ${q(a)};`);
  lines.push('}', '');
  return lines.join('\n');
}

/** `dag` as text: each connected part, a stage per line with the stages it waits for. */
export function renderText(graph: PrintGraph): string {
  return components(graph)
    .map((part) =>
      part.nodes
        .map((n) => {
          const ups = part.edges.filter(([a]) => a === n).map(([, b]) => b);
          return ups.length ? `${n} <- ${ups.join(', ')}` : n;
        })
        .join('\n'),
    )
    .join('\n\n');
}
