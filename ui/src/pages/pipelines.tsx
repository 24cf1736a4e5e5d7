/**
 * The project's DVC pipeline: its stages as a DAG (columns by depth, edges from each stage's
 * upstream stages) coloured by their status against dvc.lock, and each stage's command, deps,
 * outs, what changed and the current values of its metrics files.
 */
import { api, keel } from '../api';
import { Loaded, useAsync } from '../components/async';
import { Badge, value } from '../components/format';

interface Stage {
  name: string;
  cmd: string | string[];
  desc?: string;
  deps: string[];
  outs: string[];
  frozen: boolean;
  upstream: string[];
  status: unknown[];
  metrics: { file: string; values?: Record<string, number | string | boolean>; error?: string }[];
}

const W = 170;
const H = 44;
const GAP_X = 70;
const GAP_Y = 24;

function Dag({ stages }: { stages: Stage[] }) {
  // Stages come in plan order, so every upstream stage has its depth before its dependants.
  const depth = new Map<string, number>();
  for (const s of stages) depth.set(s.name, Math.max(-1, ...s.upstream.map((u) => depth.get(u) ?? 0)) + 1);
  const rows = new Map<number, number>();
  const pos = new Map<string, { x: number; y: number }>();
  for (const s of stages) {
    const d = depth.get(s.name) ?? 0;
    const r = rows.get(d) ?? 0;
    rows.set(d, r + 1);
    pos.set(s.name, { x: 10 + d * (W + GAP_X), y: 10 + r * (H + GAP_Y) });
  }
  const width = 20 + (Math.max(0, ...depth.values()) + 1) * (W + GAP_X);
  const height = 20 + Math.max(1, ...rows.values()) * (H + GAP_Y);
  return (
    <figure class="chart">
      <figcaption>Pipeline DAG</figcaption>
      <svg
        width={width}
        height={height}
        style={{ maxWidth: '100%', height: 'auto' }}
        role="img"
        aria-label={`Pipeline of ${stages.length} stages: ${stages.map((s) => `${s.name} after ${s.upstream.join(', ') || 'nothing'}`).join('; ')}`}
      >
        {stages.flatMap((s) =>
          s.upstream.map((u) => {
            const a = pos.get(u);
            const b = pos.get(s.name);
            return a && b ? (
              <line
                key={`${u}-${s.name}`}
                x1={a.x + W}
                y1={a.y + H / 2}
                x2={b.x}
                y2={b.y + H / 2}
                stroke="#57606a"
                stroke-width="1.5"
              />
            ) : null;
          }),
        )}
        {stages.map((s) => {
          const p = pos.get(s.name) as { x: number; y: number };
          const changed = s.status.length > 0;
          return (
            <g key={s.name} data-stage={s.name}>
              <rect
                x={p.x}
                y={p.y}
                width={W}
                height={H}
                rx="6"
                fill={changed ? '#fff8c5' : '#dafbe1'}
                stroke={changed ? '#9a6700' : '#1a7f37'}
              />
              <text x={p.x + 10} y={p.y + 18} font-size="13" fill="#1f2328">
                {s.name}
              </text>
              <text x={p.x + 10} y={p.y + 35} font-size="11" fill="#1f2328">
                {s.frozen ? 'frozen' : changed ? 'changed' : 'up to date'}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

/** Each metrics file of a stage with its values, or why it could not be read. */
function StageMetrics({ files }: { files: Stage['metrics'] }) {
  return (
    <>
      {files.map((f) => (
        <div key={f.file} data-metrics={f.file}>
          <small>{f.file}</small>
          {f.error !== undefined ? (
            <div>
              <Badge kind="warn">unreadable</Badge> {f.error}
            </div>
          ) : (
            <ul class="metrics">
              {Object.entries(f.values ?? {}).map(([k, v]) => (
                <li key={k}>
                  {k}: {value(v)}
                </li>
              ))}
            </ul>
          )}
        </div>
      ))}
    </>
  );
}

const describe = (status: unknown[]) =>
  status.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('; ');

export function PipelinesPage() {
  const data = useAsync(() => api<{ stages: Stage[] }>(keel('pipeline')), []);
  return (
    <>
      <h1>Pipelines</h1>
      <Loaded state={data}>
        {({ stages }) => (
          <>
            <Dag stages={stages} />
            <table class="striped stages">
              <caption>Stages in plan order</caption>
              <thead>
                <tr>
                  <th scope="col">Stage</th>
                  <th scope="col">Status</th>
                  <th scope="col">Command</th>
                  <th scope="col">Deps</th>
                  <th scope="col">Outs</th>
                  <th scope="col">What changed</th>
                  <th scope="col">Metrics</th>
                </tr>
              </thead>
              <tbody>
                {stages.map((s) => (
                  <tr key={s.name}>
                    <th scope="row">{s.name}</th>
                    <td>
                      <Badge kind={s.status.length ? 'warn' : 'ok'}>
                        {s.status.length ? 'changed' : 'up to date'}
                      </Badge>
                    </td>
                    <td>
                      <code>{[s.cmd].flat().join(' && ')}</code>
                    </td>
                    <td>{s.deps.join(', ')}</td>
                    <td>{s.outs.join(', ')}</td>
                    <td>{describe(s.status)}</td>
                    <td>
                      <StageMetrics files={s.metrics} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </Loaded>
    </>
  );
}
