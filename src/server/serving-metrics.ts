/**
 * @module server/serving-metrics
 * How the served versions are kept up to date, as Prometheus gauges read at scrape time:
 * `keel_model_swap_refusals_total{model,role}`, the versions a side (primary, canary, shadow)
 * refused since the server started because they could not take the requests served or failed
 * their warm-up, and `keel_model_swap_refused{model,role,version}`, 1 for the version refused
 * now (the alias or stage names it, and the old version keeps serving); and what each shadow
 * version scored, `keel_model_shadow_requests_total{model,version}` and
 * `keel_model_shadow_errors_total{model,version}` (copies of requests it failed to score).
 */
import { Gauge, type Registry } from 'prom-client';
import type { ModelServer } from '../serving/index.js';

export function servingGauges(registry: Registry, serving: ModelServer): void {
  const registers = [registry];
  new Gauge({
    name: 'keel_model_swap_refusals_total',
    help: 'Versions refused since the server started: they could not take the requests served, or failed their warm-up',
    labelNames: ['model', 'role'],
    registers,
    collect() {
      for (const r of serving.refusals()) this.set({ model: r.model, role: r.role }, r.count);
    },
  });
  new Gauge({
    name: 'keel_model_swap_refused',
    help: 'A version its alias or stage names that the server refused to serve (1); the old one keeps serving',
    labelNames: ['model', 'role', 'version'],
    registers,
    // A flag, not a count: the workers of a cluster that all refused it still say 1.
    aggregator: 'max',
    collect() {
      this.reset();
      for (const r of serving.refusals())
        if (r.refused?.version) this.set({ model: r.model, role: r.role, version: r.refused.version }, 1);
    },
  });
  const shadow = (name: string, help: string, key: 'requests' | 'errors') =>
    new Gauge({
      name,
      help,
      labelNames: ['model', 'version'],
      registers,
      collect() {
        for (const t of serving.shadowTraffic()) this.set({ model: t.model, version: t.version }, t[key]);
      },
    });
  shadow(
    'keel_model_shadow_requests_total',
    'Copies of requests a shadow version scored (logged, never answered)',
    'requests',
  );
  shadow('keel_model_shadow_errors_total', 'Copies of requests a shadow version failed to score', 'errors');
}
