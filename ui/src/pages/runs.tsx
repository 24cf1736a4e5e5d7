/**
 * Experiments and runs: the runs of an experiment, paged, sorted and filtered by the server
 * (runs/search with MLflow's filter language), with columns chosen from the page's params,
 * metrics and tags, and 2-10 runs picked for comparison.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, mlflow, num } from '../api';
import { Loaded, useAsync } from '../components/async';
import { duration, time, value } from '../components/format';
import { go, href } from '../router';
import type { Experiment, Run } from '../types';

const PAGE_SIZE = 50;

interface RunsQuery {
  exp: string;
  filter: string;
  order: string;
  cols?: string[];
}

const link = (q: RunsQuery, extra: Record<string, string | undefined> = {}) =>
  href('runs', { exp: q.exp, filter: q.filter, order: q.order, cols: q.cols?.join(','), ...extra });

/** The column a key of a run names: `metrics.rmse`, `params.lr`, `tags.team`. */
function cell(run: Run, column: string): string {
  const [kind, ...rest] = column.split('.');
  const key = rest.join('.');
  if (kind === 'metrics') {
    const m = run.data.metrics.find((x) => x.key === key);
    return m ? value(num(m.value)) : '';
  }
  const list = kind === 'params' ? run.data.params : run.data.tags;
  return list.find((x) => x.key === key)?.value ?? '';
}

function keysOf(runs: Run[]): string[] {
  const keys = new Set<string>();
  for (const r of runs) {
    for (const m of r.data.metrics) keys.add(`metrics.${m.key}`);
    for (const p of r.data.params) keys.add(`params.${p.key}`);
    for (const t of r.data.tags) if (!t.key.startsWith('mlflow.')) keys.add(`tags.${t.key}`);
  }
  return [...keys].sort();
}

function defaultColumns(keys: string[]): string[] {
  return [
    ...keys.filter((k) => k.startsWith('metrics.')).slice(0, 4),
    ...keys.filter((k) => k.startsWith('params.')).slice(0, 3),
  ];
}

function SortHeader({ q, column, label }: { q: RunsQuery; column: string; label: string }) {
  const [key, dir] = q.order.split(' ');
  const sorted = key === column;
  const next = sorted && dir !== 'DESC' ? 'DESC' : 'ASC';
  return (
    <th scope="col" aria-sort={sorted ? (dir === 'DESC' ? 'descending' : 'ascending') : undefined}>
      <a href={link({ ...q, order: `${column} ${next}` })} title={`Sort by ${label}`}>
        {label}
        {sorted ? (dir === 'DESC' ? ' ▼' : ' ▲') : ''}
      </a>
    </th>
  );
}

export function RunsPage({ params }: { params: URLSearchParams }) {
  const experiments = useAsync(
    () => api<{ experiments?: Experiment[] }>(mlflow('experiments/search'), { query: { max_results: 1000 } }),
    [],
  );
  const exps = experiments.data?.experiments ?? [];
  const q: RunsQuery = {
    exp:
      params.get('exp') ??
      exps.find((e) => e.experiment_id !== '0')?.experiment_id ??
      exps[0]?.experiment_id ??
      '0',
    filter: params.get('filter') ?? '',
    order: params.get('order') ?? 'attributes.start_time DESC',
    cols: params.get('cols')?.split(',').filter(Boolean),
  };
  const [tokens, setTokens] = useState<string[]>([]);
  const [selected, setSelected] = useState<string[]>([]);
  const [draft, setDraft] = useState(q.filter);
  useEffect(() => {
    setTokens([]);
    setDraft(q.filter);
  }, [q.exp, q.filter, q.order]);
  const pageToken = tokens[tokens.length - 1];
  // With the experiment in the URL the search starts at once; else it waits for the list to pick one.
  const ready = params.has('exp') || experiments.data !== undefined;
  const runs = useAsync(async () => {
    if (!ready) return new Promise<never>(() => {});
    const started = performance.now();
    const page = await api<{ runs?: Run[]; next_page_token?: string }>(mlflow('runs/search'), {
      method: 'POST',
      body: {
        experiment_ids: [q.exp],
        filter: q.filter || undefined,
        order_by: [q.order],
        max_results: PAGE_SIZE,
        page_token: pageToken,
      },
    });
    return { ...page, started };
  }, [ready, q.exp, q.filter, q.order, pageToken]);

  const keys = useMemo(() => keysOf(runs.data?.runs ?? []), [runs.data]);
  const columns = q.cols ?? defaultColumns(keys);
  useEffect(() => {
    if (runs.data) performance.measure('keel:runs', { start: runs.data.started, end: performance.now() });
  }, [runs.data]);

  const toggle = (id: string) =>
    setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));
  return (
    <>
      <h1>Runs</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          go(link({ ...q, filter: draft }));
        }}
      >
        <div>
          <label for="experiment">Experiment</label>
          <select
            id="experiment"
            value={q.exp}
            onChange={(e) => go(link({ ...q, exp: e.currentTarget.value, filter: '' }))}
          >
            {exps.map((e) => (
              <option key={e.experiment_id} value={e.experiment_id}>
                {e.name}
              </option>
            ))}
          </select>
        </div>
        <label class="grow">
          Filter (MLflow search syntax)
          <input
            type="search"
            name="filter"
            value={draft}
            placeholder="metrics.rmse < 1 and params.model = 'tree'"
            onInput={(e) => setDraft(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Apply</button>
      </form>
      <details class="columns">
        <summary>Columns ({columns.length})</summary>
        <fieldset>
          <legend>Columns shown</legend>
          {keys.map((k) => (
            <label key={k}>
              <input
                type="checkbox"
                checked={columns.includes(k)}
                onChange={() =>
                  go(
                    link({
                      ...q,
                      cols: columns.includes(k) ? columns.filter((c) => c !== k) : [...columns, k],
                    }),
                  )
                }
              />
              {k}
            </label>
          ))}
        </fieldset>
      </details>
      <div class="actions">
        <button
          type="button"
          disabled={selected.length < 2 || selected.length > 10}
          onClick={() => go(href('compare', { runs: selected.join(',') }))}
        >
          Compare {selected.length} runs
        </button>
        <small>Pick 2 to 10 runs to compare.</small>
      </div>
      <Loaded state={runs}>
        {(page) => (
          <>
            <div class="overflow-auto">
              <table class="striped runs" data-testid="runs-table">
                <caption>
                  {page.runs?.length ?? 0} runs on page {tokens.length + 1}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">
                      <span class="visually-hidden">Select</span>
                    </th>
                    <SortHeader q={q} column="attributes.run_name" label="Run" />
                    <SortHeader q={q} column="attributes.start_time" label="Started" />
                    <th scope="col">Duration</th>
                    <SortHeader q={q} column="attributes.status" label="Status" />
                    {columns.map((c) =>
                      c.startsWith('tags.') ? (
                        <th scope="col" key={c}>
                          {c}
                        </th>
                      ) : (
                        <SortHeader key={c} q={q} column={c} label={c} />
                      ),
                    )}
                  </tr>
                </thead>
                <tbody>
                  {(page.runs ?? []).map((r) => (
                    <tr key={r.info.run_id}>
                      <td>
                        <input
                          type="checkbox"
                          aria-label={`Select ${r.info.run_name || r.info.run_id}`}
                          checked={selected.includes(r.info.run_id)}
                          onChange={() => toggle(r.info.run_id)}
                        />
                      </td>
                      <td>
                        <a href={href('runs', r.info.run_id)}>{r.info.run_name || r.info.run_id}</a>
                      </td>
                      <td>{time(r.info.start_time)}</td>
                      <td>{duration(r.info.start_time, r.info.end_time)}</td>
                      <td>{r.info.status}</td>
                      {columns.map((c) => (
                        <td key={c}>{cell(r, c)}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <nav aria-label="Pages" class="pager">
              <button
                type="button"
                class="secondary"
                disabled={tokens.length === 0}
                onClick={() => setTokens((t) => t.slice(0, -1))}
              >
                Previous page
              </button>
              <button
                type="button"
                class="secondary"
                disabled={!page.next_page_token}
                onClick={() =>
                  page.next_page_token && setTokens((t) => [...t, page.next_page_token as string])
                }
              >
                Next page
              </button>
            </nav>
          </>
        )}
      </Loaded>
    </>
  );
}
