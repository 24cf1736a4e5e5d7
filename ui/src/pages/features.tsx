/**
 * The feature store: entities, feature views (schema, TTL, owner, source) with their freshness
 * (materialized up to when, how stale the online rows are), on-demand views and services; the
 * offline store's datasets with their accepted ingests and the validation checks each passed.
 */
import { api, keel } from '../api';
import { Loaded, useAsync } from '../components/async';
import { Badge, time } from '../components/format';

interface FeatureView {
  name: string;
  version: number;
  entities: string[];
  schema: Record<string, string>;
  source: { kind: string; path?: string; name?: string };
  ttl_seconds: number;
  online: boolean;
  owner?: string;
  description?: string;
  materialized_until: number | null;
  staleness_seconds: number | null;
  pending: { start: number; end: number; doneUntil: number } | null;
}
interface IngestCheck {
  check: string;
  column?: string;
  passed: boolean;
  message: string;
}
interface Dataset {
  name: string;
  partitions: number;
  rows: number;
  lastIngest?: number;
  digest: string;
  columns: { name: string; type: string }[];
  ingests: { at: number; rows: number; digest: string; files: string[]; checks?: IngestCheck[] }[];
}

interface Registry {
  entities: { name: string; joinKey: string; valueType: string; description?: string; version: number }[];
  feature_views: FeatureView[];
  on_demand_feature_views: {
    name: string;
    inputs: string[];
    schema: Record<string, string>;
    version: number;
  }[];
  feature_services: {
    name: string;
    features: string[];
    owner?: string;
    description?: string;
    version: number;
  }[];
}

const age = (s: number | null) =>
  s === null
    ? 'never materialized'
    : s < 3600
      ? `${(s / 60).toFixed(0)} min`
      : s < 172800
        ? `${(s / 3600).toFixed(1)} h`
        : `${(s / 86400).toFixed(0)} days`;
const schema = (s: Record<string, string>) =>
  Object.entries(s)
    .map(([k, t]) => `${k}: ${t}`)
    .join(', ');

export function FeaturesPage() {
  const data = useAsync(() => api<Registry>(keel('features')), []);
  return (
    <>
      <h1>Features</h1>
      <Loaded state={data}>
        {(r) => (
          <>
            <table class="striped">
              <caption>Feature views</caption>
              <thead>
                <tr>
                  <th scope="col">View</th>
                  <th scope="col">Entities</th>
                  <th scope="col">Schema</th>
                  <th scope="col">TTL</th>
                  <th scope="col">Owner</th>
                  <th scope="col">Source</th>
                  <th scope="col">Materialized until</th>
                  <th scope="col">Online staleness</th>
                </tr>
              </thead>
              <tbody>
                {r.feature_views.map((v) => (
                  <tr key={v.name}>
                    <th scope="row">
                      {v.name} <small>v{v.version}</small>
                    </th>
                    <td>{v.entities.join(', ')}</td>
                    <td>{schema(v.schema)}</td>
                    <td>{v.ttl_seconds ? age(v.ttl_seconds) : 'unlimited'}</td>
                    <td>{v.owner}</td>
                    <td>
                      <code>{v.source.path ?? v.source.name ?? v.source.kind}</code>
                    </td>
                    <td>
                      {v.materialized_until === null ? '' : time(v.materialized_until)}
                      {v.pending && <Badge kind="warn">unfinished run</Badge>}
                    </td>
                    <td>
                      {v.online ? (
                        <Badge kind={v.staleness_seconds === null ? 'bad' : undefined}>
                          {age(v.staleness_seconds)}
                        </Badge>
                      ) : (
                        'offline only'
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <div class="grid">
              <table class="striped">
                <caption>Entities</caption>
                <thead>
                  <tr>
                    <th scope="col">Entity</th>
                    <th scope="col">Join key</th>
                    <th scope="col">Type</th>
                  </tr>
                </thead>
                <tbody>
                  {r.entities.map((e) => (
                    <tr key={e.name}>
                      <th scope="row">{e.name}</th>
                      <td>{e.joinKey}</td>
                      <td>{e.valueType}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <table class="striped">
                <caption>Feature services</caption>
                <thead>
                  <tr>
                    <th scope="col">Service</th>
                    <th scope="col">Features</th>
                    <th scope="col">Owner</th>
                  </tr>
                </thead>
                <tbody>
                  {r.feature_services.map((s) => (
                    <tr key={s.name}>
                      <th scope="row">{s.name}</th>
                      <td>{s.features.join(', ')}</td>
                      <td>{s.owner}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {r.on_demand_feature_views.length > 0 && (
              <table class="striped">
                <caption>On-demand views</caption>
                <thead>
                  <tr>
                    <th scope="col">View</th>
                    <th scope="col">Inputs</th>
                    <th scope="col">Schema</th>
                  </tr>
                </thead>
                <tbody>
                  {r.on_demand_feature_views.map((v) => (
                    <tr key={v.name}>
                      <th scope="row">{v.name}</th>
                      <td>{v.inputs.join(', ')}</td>
                      <td>{schema(v.schema)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </>
        )}
      </Loaded>
      <Datasets />
    </>
  );
}

const basename = (path: string) => path.split(/[\\/]/).pop() ?? path;

/** Each dataset's accepted ingests, newest first, with the checks every batch passed. */
function Datasets() {
  const datasets = useAsync(async () => {
    const { datasets: list } = await api<{ datasets: { name: string }[] }>(keel('datasets'));
    return Promise.all(
      list.map(
        async (d) =>
          (await api<{ dataset: Dataset }>(keel('datasets/get'), { query: { name: d.name } })).dataset,
      ),
    );
  }, []);
  return (
    <section aria-labelledby="datasets">
      <h2 id="datasets">Datasets</h2>
      <Loaded state={datasets}>
        {(list) =>
          list.length === 0 ? (
            <p>No datasets yet (keel ingest DATASET FILE --schema schema.yaml).</p>
          ) : (
            list.map((d) => (
              <article key={d.name} data-dataset={d.name}>
                <header>
                  <strong>{d.name}</strong>: {d.rows} rows in {d.partitions}{' '}
                  {d.partitions === 1 ? 'partition' : 'partitions'}, last ingest {time(d.lastIngest)}
                  <div>
                    <small>
                      {d.columns.map((c) => `${c.name}: ${c.type}`).join(', ')}; {d.digest.slice(0, 19)}
                    </small>
                  </div>
                </header>
                <div class="overflow-auto">
                  <table class="striped ingests">
                    <caption>Ingests of {d.name}</caption>
                    <thead>
                      <tr>
                        <th scope="col">When</th>
                        <th scope="col">Rows</th>
                        <th scope="col">Files</th>
                        <th scope="col">Checks</th>
                      </tr>
                    </thead>
                    <tbody>
                      {[...d.ingests].reverse().map((i) => (
                        <tr key={i.digest + i.at}>
                          <td>{time(i.at)}</td>
                          <td>{i.rows}</td>
                          <td>{i.files.map(basename).join(', ')}</td>
                          <td>
                            {i.checks ? (
                              <details>
                                <summary>
                                  <Badge kind={i.checks.every((c) => c.passed) ? 'ok' : 'bad'}>
                                    {i.checks.filter((c) => c.passed).length} of {i.checks.length} passed
                                  </Badge>
                                </summary>
                                <ul class="checks">
                                  {i.checks.map((c) => (
                                    <li key={`${c.check}:${c.column ?? ''}`}>
                                      <strong>{c.check}</strong>
                                      {c.column ? ` ${c.column}` : ''}: {c.message}
                                    </li>
                                  ))}
                                </ul>
                              </details>
                            ) : (
                              'not recorded'
                            )}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </article>
            ))
          )
        }
      </Loaded>
    </section>
  );
}
