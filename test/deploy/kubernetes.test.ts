/**
 * deploy/kubernetes: every manifest validates against the Kubernetes API's schemas carried by
 * kubernetes-models (types, required fields, formats, enums; not unknown fields, which the package's
 * validators let through), and the manifests hold together: the Service and the autoscaler find
 * the Deployment, the probes hit the server's real liveness and readiness routes, every pod has
 * resource requests and limits and runs as the image's non-root user, the ConfigMap's keel.yaml is
 * deploy/keel.yaml and loads with Keel's own config schema, and each container's arguments parse
 * with the real CLI.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/core/index.js';
import { alertSettings } from '../../src/monitoring/alert-delivery.js';
import { monitoringSettings } from '../../src/monitoring/monitor-config.js';
import { cliParse, hasCommand } from '../helpers/cli-parse.js';
import { tempDir } from '../helpers/temp.js';

const DEPLOY = join(import.meta.dirname, '..', '..', 'deploy');
const DIR = join(DEPLOY, 'kubernetes');

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML read by the paths these manifests have; kubernetes-models checks their types.
type Yaml = any;
type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [k: string]: unknown };
type Validating = new (data: Manifest) => { validate(): void };

const MODELS: Record<string, Validating> = {
  'v1/ConfigMap': ConfigMap as unknown as Validating,
  'v1/Secret': Secret as unknown as Validating,
  'v1/Service': Service as unknown as Validating,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim as unknown as Validating,
  'apps/v1/Deployment': Deployment as unknown as Validating,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler as unknown as Validating,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as unknown as Validating,
};

function validate(m: Manifest): void {
  const Model = MODELS[`${m.apiVersion}/${m.kind}`];
  if (!Model) throw new Error(`no schema for ${m.apiVersion} ${m.kind}`);
  new Model(m).validate();
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
const manifests: Manifest[] = files.flatMap((f) =>
  parseAllDocuments(readFileSync(join(DIR, f), 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${f}: ${d.errors[0].message}`);
    return d.toJS() as Manifest;
  }),
);
const find = <T = Yaml>(kind: string, name: string): T => {
  const m = manifests.find((x) => x.kind === kind && x.metadata.name === name);
  if (!m) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return m as T;
};

describe('deploy/kubernetes manifests', () => {
  it('validate against the Kubernetes schemas, each one', () => {
    expect(manifests.map((m) => m.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'Deployment',
      'HorizontalPodAutoscaler',
      'PersistentVolumeClaim',
      'PodDisruptionBudget',
      'Secret',
      'Service',
    ]);
    for (const m of manifests) expect(() => validate(m), `${m.kind} ${m.metadata.name}`).not.toThrow();
  });

  it('are refused by the same validation when broken', () => {
    const broken: Array<[string, (d: Yaml) => void, RegExp]> = [
      ['replicas as text', (d) => (d.spec.replicas = 'two'), /replicas must be integer/],
      ['no selector', (d) => delete d.spec.selector, /must have required property selector/],
      [
        'a cpu request that is no quantity',
        (d) => (d.spec.template.spec.containers[0].resources.requests.cpu = 'lots'),
        /cpu must/,
      ],
      [
        'a probe port that is an object',
        (d) => (d.spec.template.spec.containers[0].livenessProbe.httpGet.port = {}),
        /port must/,
      ],
    ];
    for (const [what, breakIt, error] of broken) {
      const copy = structuredClone(find<Manifest>('Deployment', 'keel-serve'));
      breakIt(copy);
      expect(() => validate(copy), what).toThrow(error);
    }
    const hpa = structuredClone(find<Manifest>('HorizontalPodAutoscaler', 'keel-serve'));
    (hpa.spec as Yaml).metrics[0].resource.target.averageUtilization = '70%';
    expect(() => validate(hpa)).toThrow(/averageUtilization must be integer/);
  });

  it('route the Service and the autoscaler to the serving pods, and the budget keeps one', () => {
    const serve = find('Deployment', 'keel-serve');
    const podLabels = serve.spec.template.metadata.labels;
    const service = find('Service', 'keel-serve');
    for (const [k, v] of Object.entries(service.spec.selector)) expect(podLabels[k], k).toBe(v);
    for (const [k, v] of Object.entries(serve.spec.selector.matchLabels)) expect(podLabels[k], k).toBe(v);
    const portNames = serve.spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name);
    expect(portNames).toContain(service.spec.ports[0].targetPort);
    const hpa = find('HorizontalPodAutoscaler', 'keel-serve');
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'keel-serve',
    });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    const pdb = find('PodDisruptionBudget', 'keel-serve');
    expect(pdb.spec.selector.matchLabels).toEqual(serve.spec.selector.matchLabels);
    expect(serve.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    // The worker's pods are not the Service's.
    const worker = find('Deployment', 'keel-worker');
    const workerLabels = worker.spec.template.metadata.labels;
    expect(Object.entries(service.spec.selector).every(([k, v]) => workerLabels[k] === v)).toBe(false);
  });

  it("probe the server's liveness (/health) and readiness (/ready) routes on the container's port", () => {
    const [container] = find('Deployment', 'keel-serve').spec.template.spec.containers;
    expect(container.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(container.startupProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
    const app = readFileSync(join(import.meta.dirname, '..', '..', 'src', 'server', 'app.ts'), 'utf8');
    expect(app).toMatch(/app\.get\('\/health'/);
    expect(app).toMatch(/app\.get\('\/ready'/);
    const port = container.ports.find((p: { name: string }) => p.name === 'http').containerPort;
    const args: string[] = container.args;
    expect(args[args.indexOf('--port') + 1]).toBe(String(port));
    expect(args[args.indexOf('--host') + 1]).toBe('0.0.0.0');
  });

  it('give every container requests and limits, a non-root user and only volumes that exist', () => {
    const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
    const dockerUser = /^USER (\d+):(\d+)$/m.exec(dockerfile);
    // The image's working directory is the project root, where Keel reads keel.yaml.
    const workdir = [...dockerfile.matchAll(/^WORKDIR (\S+)$/gm)].at(-1)?.[1];
    for (const name of ['keel-serve', 'keel-worker']) {
      const pod = find('Deployment', name).spec.template.spec;
      expect(pod.securityContext.runAsNonRoot, name).toBe(true);
      expect(String(pod.securityContext.runAsUser)).toBe(dockerUser?.[1]);
      for (const c of pod.containers) {
        expect(Object.keys(c.resources.requests).sort(), name).toEqual(['cpu', 'memory']);
        expect(Object.keys(c.resources.limits).sort(), name).toEqual(['cpu', 'memory']);
        expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
        for (const ref of c.envFrom) find('Secret', ref.secretRef.name);
        const mounts = c.volumeMounts.map((m: { mountPath: string }) => m.mountPath);
        expect(
          c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === `${workdir}/keel.yaml`),
        ).toMatchObject({
          name: 'config',
          subPath: 'keel.yaml',
        });
        // A read-only root needs writable scratch where Node and DuckDB write (DuckDB spills to .tmp).
        expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
        expect(mounts).toEqual(expect.arrayContaining([`${workdir}/.tmp`, '/tmp', '/var/lib/keel']));
        const volumes = pod.volumes.map((v: { name: string }) => v.name);
        for (const mount of c.volumeMounts)
          expect(volumes, `${name} mounts ${mount.name}`).toContain(mount.name);
      }
      for (const v of pod.volumes) {
        if (v.configMap) find('ConfigMap', v.configMap.name);
        if (v.persistentVolumeClaim) find('PersistentVolumeClaim', v.persistentVolumeClaim.claimName);
      }
    }
    expect(find('PersistentVolumeClaim', 'keel-home').spec.accessModes).toEqual(['ReadWriteMany']);
  });

  it("carry deploy/keel.yaml in the ConfigMap, and Keel loads it with the Secret's environment", () => {
    const text = find('ConfigMap', 'keel-config').data['keel.yaml'];
    expect(text).toBe(readFileSync(join(DEPLOY, 'keel.yaml'), 'utf8'));
    const root = tempDir('keel-k8s-config-');
    writeFileSync(join(root, 'keel.yaml'), text);
    const env = find('Secret', 'keel-secrets').stringData as Record<string, string>;
    // The committed Secret holds placeholders only: every password and token is CHANGE-ME.
    for (const [key, value] of Object.entries(env))
      if (key !== 'KEEL_ARTIFACTS') expect(value, key).toContain('CHANGE-ME');
    const config = loadConfig({ cwd: root, env });
    expect(config.metadata.type).toBe('postgres');
    expect(config.artifacts).toMatchObject({ type: 's3', bucket: 'keel-artifacts', prefix: 'keel' });
    expect(config.onlineStore.type).toBe('redis');
    expect(config.server).toEqual({ host: '0.0.0.0', port: 5000 });
    expect(config.home).toBe('/var/lib/keel');
    expect(() => monitoringSettings(config.monitoring)).not.toThrow();
    expect(alertSettings(config.monitoring?.alerts).destinations.map((d) => d.type)).toEqual([
      'log',
      'alertmanager',
    ]);
  });

  it('run commands the real CLI parses', async () => {
    const serve = find('Deployment', 'keel-serve').spec.template.spec.containers[0].args as string[];
    expect(await cliParse(serve)).toEqual({ command: ['serve'], unknown: [] });
    await expect(cliParse([...serve, '--replicas', '3'])).resolves.toMatchObject({
      unknown: ['--replicas', '3'],
    });
    const worker = find('Deployment', 'keel-worker').spec.template.spec.containers[0].args as string[];
    expect(worker).toEqual(['worker']);
    // `keel worker` comes with the job engine; once the CLI has it, its arguments are checked too.
    if (await hasCommand('worker'))
      expect(await cliParse(worker)).toEqual({ command: ['worker'], unknown: [] });
  });
});
