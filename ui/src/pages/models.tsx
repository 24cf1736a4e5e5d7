/**
 * The model registry: registered models with their versions, stages and aliases; a model's
 * promotion requests with each gate's result and evidence, approved or rejected here by an
 * approver (a reader or writer sees no buttons); its audit trail.
 */
import { useState } from 'preact/hooks';
import { api, keel, mlflow } from '../api';
import { ErrorBox, Loaded, useAsync } from '../components/async';
import { Badge, KeyValues, time, value } from '../components/format';
import { useCan, useMe } from '../me';
import { href } from '../router';
import type {
  AuditEntry,
  Deployments,
  GateResult,
  ModelVersion,
  PromotionRequest,
  RegisteredModel,
} from '../types';

export function ModelsPage() {
  const models = useAsync(
    () =>
      api<{ registered_models?: RegisteredModel[] }>(mlflow('registered-models/search'), {
        query: { max_results: 1000 },
      }),
    [],
  );
  return (
    <>
      <h1>Models</h1>
      <Loaded state={models}>
        {(m) =>
          (m.registered_models ?? []).length === 0 ? (
            <p>No registered models yet (keel models register NAME runs:/RUN_ID/model).</p>
          ) : (
            <table class="striped">
              <caption>Registered models</caption>
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Latest versions</th>
                  <th scope="col">Aliases</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {(m.registered_models ?? []).map((r) => (
                  <tr key={r.name}>
                    <td>
                      <a href={href('models', r.name)}>{r.name}</a>
                    </td>
                    <td>
                      {(r.latest_versions ?? [])
                        .map((v) => `v${v.version} ${v.current_stage ?? ''}`)
                        .join(', ')}
                    </td>
                    <td>{(r.aliases ?? []).map((a) => `@${a.alias} → v${a.version}`).join(', ')}</td>
                    <td>{time(r.last_updated_timestamp)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </>
  );
}

/** One gate's verdict, its message, what would satisfy it, and the evidence it judged. */
export function GateReport({ gates }: { gates: GateResult[] }) {
  if (gates.length === 0) return <p>No gates apply.</p>;
  return (
    <ul class="gates">
      {gates.map((g) => (
        <li key={g.gate}>
          <Badge kind={g.passed ? 'ok' : 'bad'}>{g.passed ? 'passed' : 'failed'}</Badge>{' '}
          <strong>{g.gate}</strong>: {g.message}
          {g.fix && <div>Fix: {g.fix}</div>}
          {Object.keys(g.evidence ?? {}).length > 0 && (
            <details>
              <summary>Evidence</summary>
              <KeyValues
                caption={`Evidence of ${g.gate}`}
                rows={Object.entries(g.evidence).map(([k, v]) => [k, value(v)])}
              />
            </details>
          )}
        </li>
      ))}
    </ul>
  );
}

function Decide({ request, onDone }: { request: PromotionRequest; onDone: () => void }) {
  const me = useMe();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const decide = async (action: 'approve' | 'reject') => {
    setBusy(true);
    setError(undefined);
    try {
      await api(keel(`registry/${action}`), {
        method: 'POST',
        body: { request_id: request.id, reason: reason || undefined },
      });
      onDone();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  const own = request.requested_by === me.user;
  return (
    <form class="decide" onSubmit={(e) => e.preventDefault()}>
      <label for={`reason-${request.id}`}>Reason for request {request.id}</label>
      <input id={`reason-${request.id}`} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      {own && <small>You asked for this promotion: another approver must decide.</small>}
      <div class="actions">
        <button type="button" disabled={busy} onClick={() => decide('approve')}>
          Approve request {request.id}
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={() => decide('reject')}>
          Reject request {request.id}
        </button>
      </div>
      {error && <ErrorBox error={error} />}
    </form>
  );
}

function Requests({ name, onChange }: { name: string; onChange: () => void }) {
  const canApprove = useCan('approve');
  const requests = useAsync(
    () => api<{ requests: PromotionRequest[] }>(keel('registry/requests'), { query: { name } }),
    [name],
  );
  return (
    <section aria-labelledby="requests">
      <h2 id="requests">Promotion requests</h2>
      <Loaded state={requests}>
        {({ requests: rs }) =>
          rs.length === 0 ? (
            <p>No promotion requests.</p>
          ) : (
            rs.map((r) => (
              <article key={r.id} data-request={r.id}>
                <header>
                  <strong>
                    Request {r.id}: version {r.version} to {r.to_stage ?? ''}
                    {r.alias ? ` @${r.alias}` : ''}
                  </strong>{' '}
                  <Badge kind={r.status === 'approved' ? 'ok' : r.status === 'rejected' ? 'bad' : 'warn'}>
                    {r.status}
                  </Badge>
                  <div>
                    <small>
                      asked by {r.requested_by} at {time(r.requested_at)}
                      {r.decided_by ? `, decided by ${r.decided_by}` : ''}
                      {r.reason ? ` (${r.reason})` : ''}
                    </small>
                  </div>
                </header>
                <GateReport gates={r.gates} />
                {r.status === 'pending' && canApprove && (
                  <Decide
                    request={r}
                    onDone={() => {
                      requests.reload();
                      onChange();
                    }}
                  />
                )}
              </article>
            ))
          )
        }
      </Loaded>
    </section>
  );
}

function Audit({ name, tick }: { name: string; tick: number }) {
  const audit = useAsync(
    () => api<{ entries: AuditEntry[] }>(keel('registry/audit'), { query: { name } }),
    [name, tick],
  );
  return (
    <section aria-labelledby="audit">
      <h2 id="audit">Audit trail</h2>
      <Loaded state={audit}>
        {({ entries }) => (
          <div class="overflow-auto">
            <table class="striped audit">
              <caption>{entries.length} entries</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">Action</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Version</th>
                  <th scope="col">Change</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <tr key={e.id}>
                    <td>{time(e.ts)}</td>
                    <td>{e.actor}</td>
                    <td>{e.action}</td>
                    <td>{e.outcome}</td>
                    <td>{e.version}</td>
                    <td>{e.from || e.to ? `${e.from ?? ''} → ${e.to ?? ''}` : ''}</td>
                    <td>{e.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Loaded>
    </section>
  );
}

const ms = (v: number | null) => (v === null ? '' : `${value(v)} ms`);

/**
 * What this server serves of the model (primary, canary and its share, shadow) and every
 * server's requests per version over the last hour.
 */
function Serving({ name }: { name: string }) {
  const deployments = useAsync(
    () => api<Deployments>(keel('serving/deployments'), { query: { model: name } }),
    [name],
  );
  return (
    <section aria-labelledby="serving">
      <h2 id="serving">Serving</h2>
      <Loaded state={deployments}>
        {(d) => {
          const sides = new Map<string, string>();
          if (d.served) {
            sides.set(d.served.version, `primary (${100 - (d.served.canary?.percent ?? 0)}%)`);
            if (d.served.canary?.version)
              sides.set(d.served.canary.version, `canary (${d.served.canary.percent}%)`);
            if (d.served.shadow?.version) sides.set(d.served.shadow.version, 'shadow');
          }
          return (
            <>
              {d.served ? (
                <KeyValues
                  caption="Served here"
                  rows={[
                    ['Primary', `v${d.served.version} from ${d.served.uri}`],
                    ...(d.served.canary
                      ? ([
                          [
                            'Canary',
                            <span key="canary" data-canary-percent={d.served.canary.percent}>
                              {d.served.canary.version ? `v${d.served.canary.version}` : 'no version'} from{' '}
                              {d.served.canary.uri}, {d.served.canary.percent}% of requests
                              {d.served.canary.sticky ? ' (sticky)' : ''}{' '}
                              <Badge kind={d.served.canary.ready ? 'ok' : 'warn'}>
                                {d.served.canary.ready ? 'taking traffic' : 'not ready'}
                              </Badge>
                            </span>,
                          ],
                        ] as [string, preact.ComponentChildren][])
                      : []),
                    ...(d.served.shadow
                      ? ([
                          [
                            'Shadow',
                            `${d.served.shadow.version ? `v${d.served.shadow.version}` : 'no version'} from ${d.served.shadow.uri}`,
                          ],
                        ] as [string, preact.ComponentChildren][])
                      : []),
                  ]}
                />
              ) : (
                <p>
                  This server does not serve {name} (keel serve --model models:/{name}@champion).
                </p>
              )}
              {d.versions.length === 0 ? (
                <p>No scoring requests in the last {d.window.minutes} minutes.</p>
              ) : (
                <div class="overflow-auto">
                  <table class="striped deployments">
                    <caption>Requests in the last {d.window.minutes} minutes, all servers</caption>
                    <thead>
                      <tr>
                        <th scope="col">Version</th>
                        <th scope="col">Side</th>
                        <th scope="col">Requests</th>
                        <th scope="col">Errors</th>
                        <th scope="col">Error rate</th>
                        <th scope="col">p50</th>
                        <th scope="col">p95</th>
                        <th scope="col">p99</th>
                      </tr>
                    </thead>
                    <tbody>
                      {d.versions.map((v) => (
                        <tr key={v.version} data-version={v.version}>
                          <td>{v.version}</td>
                          <td>{sides.get(v.version) ?? ''}</td>
                          <td data-requests={v.requests}>{v.requests}</td>
                          <td>{v.failed}</td>
                          <td>{v.errorRate === null ? '' : `${value(v.errorRate * 100)}%`}</td>
                          <td>{ms(v.p50Ms)}</td>
                          <td>{ms(v.p95Ms)}</td>
                          <td>{ms(v.p99Ms)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

export function ModelPage({ name }: { name: string }) {
  const [tick, setTick] = useState(0);
  const model = useAsync(
    () =>
      Promise.all([
        api<{ registered_model: RegisteredModel }>(mlflow('registered-models/get'), { query: { name } }),
        api<{ model_versions?: ModelVersion[] }>(mlflow('model-versions/search'), {
          query: {
            filter: `name='${name.replace(/'/g, "\\'")}'`,
            max_results: 1000,
            order_by: ['version_number DESC'],
          },
        }),
      ]),
    [name, tick],
  );
  return (
    <>
      <p>
        <a href={href('models')}>Models</a> /
      </p>
      <h1>{name}</h1>
      <Loaded state={model}>
        {([m, v]) => (
          <>
            {m.registered_model.description && <p>{m.registered_model.description}</p>}
            <table class="striped">
              <caption>Versions</caption>
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Stage</th>
                  <th scope="col">Aliases</th>
                  <th scope="col">Status</th>
                  <th scope="col">Run</th>
                  <th scope="col">Registered</th>
                  <th scope="col">By</th>
                </tr>
              </thead>
              <tbody>
                {(v.model_versions ?? []).map((x) => (
                  <tr key={x.version}>
                    <td>{x.version}</td>
                    <td>
                      <Badge kind={x.current_stage === 'Production' ? 'ok' : undefined}>
                        {x.current_stage ?? 'None'}
                      </Badge>
                    </td>
                    <td>{(x.aliases ?? []).map((a) => `@${a}`).join(' ')}</td>
                    <td>{x.status}</td>
                    <td>{x.run_id ? <a href={href('runs', x.run_id)}>{x.run_id.slice(0, 8)}</a> : ''}</td>
                    <td>{time(x.creation_timestamp)}</td>
                    <td>{x.user_id}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </Loaded>
      <Serving name={name} />
      <Requests name={name} onChange={() => setTick((t) => t + 1)} />
      <Audit name={name} tick={tick} />
    </>
  );
}
