/**
 * The feature store: entities, feature views (schema, TTL, owner, source) with their freshness
 * (materialized up to when, how stale the online rows are), on-demand views and services.
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
    </>
  );
}
