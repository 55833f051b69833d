import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, SECRET_KEYS, loadConfig } from '../../../src/config.js';
import { schemaErrors, unknownFieldErrors } from './kubernetes-schemas.js';
import {
  CHART_DIR,
  MINIMAL_VALUES,
  find,
  helm,
  helmLint,
  names,
  podSpec,
  render,
  renderError,
  type Container,
  type Manifest,
} from './render.js';

/**
 * The Helm chart, rendered by Helm itself (test/deploy/helm/helm-binary.ts) for each values toggle
 * an operator reaches for, every manifest validated against the Kubernetes, KEDA and Prometheus
 * Operator schemas (unknown fields included), and what each toggle must change checked on the
 * rendered objects. No cluster: what a real API server, KEDA or the kubelet would do with these
 * objects beyond their schemas is not exercised here.
 */
const merge = (...parts: object[]): object => {
  const deep = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...a };
    for (const [k, v] of Object.entries(b)) {
      const prev = out[k];
      out[k] =
        v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev)
          ? deep(prev as Record<string, unknown>, v as Record<string, unknown>)
          : v;
    }
    return out;
  };
  return parts.reduce<Record<string, unknown>>((acc, p) => deep(acc, p as Record<string, unknown>), {});
};

const EXTERNAL_SECRET = 'marketplace-credentials';
const SCENARIOS = {
  minimal: MINIMAL_VALUES,
  gpu: merge(MINIMAL_VALUES, { workers: { gpu: { enabled: true } } }),
  'gpu-warm-no-cpu': merge(MINIMAL_VALUES, {
    workers: {
      cpu: { enabled: false },
      gpu: { enabled: true, runtimeClassName: 'nvidia', autoscaling: { minReplicas: 1 } },
    },
  }),
  'existing-secret': {
    secrets: { existingSecret: EXTERNAL_SECRET, keys: { DATABASE_URL: 'database-url' } },
    keda: {
      redis: {
        address: 'redis.data:6380',
        enableTLS: true,
        passwordSecret: { name: 'redis-auth', key: 'password' },
      },
    },
  },
  ingress: merge(MINIMAL_VALUES, {
    ingress: {
      enabled: true,
      className: 'nginx',
      annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '1100m' },
      hosts: [{ host: 'api.marketplace.example', paths: [{ path: '/', pathType: 'Prefix' }] }],
      tls: [{ secretName: 'api-tls', hosts: ['api.marketplace.example'] }],
    },
  }),
  'metrics-auth': merge(MINIMAL_VALUES, {
    metrics: {
      port: 9464,
      serviceMonitor: {
        enabled: true,
        labels: { release: 'kube-prometheus-stack' },
        bearerTokenSecret: { name: 'metrics-token', key: 'token' },
      },
      prometheusRule: { enabled: true, labels: { release: 'kube-prometheus-stack' } },
      grafanaDashboard: { enabled: true, namespace: 'monitoring' },
    },
    networkPolicy: {
      apiFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }],
    },
  }),
  'no-keda-no-hpa': merge(MINIMAL_VALUES, {
    keda: { enabled: false },
    api: { autoscaling: { enabled: false }, replicas: 3 },
    workers: { gpu: { enabled: true, replicas: 2 } },
  }),
  'request-rate-hpa': merge(MINIMAL_VALUES, { api: { autoscaling: { requestRate: { enabled: true } } } }),
  tracing: merge(MINIMAL_VALUES, {
    config: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.observability:4318', OTEL_TRACES_SAMPLER_ARG: '0.1' },
    secrets: { env: { OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer collector-token' } },
    workers: { gpu: { enabled: true, env: { OTEL_SERVICE_NAME: 'model-marketplace-gpu-worker' } } },
  }),
  's3-storage': merge(MINIMAL_VALUES, {
    config: {
      MODEL_STORAGE: 's3',
      S3_ENDPOINT: 'https://minio.storage:9000',
      S3_BUCKET: 'marketplace-models',
      S3_FORCE_PATH_STYLE: 'true',
    },
    secrets: { env: { S3_ACCESS_KEY_ID: 'minio-key-id', S3_SECRET_ACCESS_KEY: 'minio-secret-key' } },
    storage: { modelCache: { sizeLimit: '8Gi' } },
  }),
  'jwks-acl-redis': merge(MINIMAL_VALUES, {
    secrets: {
      env: {
        JWT_SECRET: '',
        JWT_PRIVATE_KEYS: '{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"EdDSA","x":"x","d":"d"}]}',
        REDIS_URL: 'rediss://marketplace:acl-password@redis.data:6380',
      },
    },
  }),
} satisfies Record<string, object>;
type Scenario = keyof typeof SCENARIOS;

const rendered = {} as Record<Scenario, Manifest[]>;
beforeAll(() => {
  for (const [name, values] of Object.entries(SCENARIOS)) rendered[name as Scenario] = render(values);
}, 120_000);

const fullname = 'mm-model-marketplace';
const deployment = (m: Manifest[], component: string) => find(m, 'Deployment', `${fullname}-${component}`);
const container = (m: Manifest) => podSpec(m).containers[0];
const envValue = (c: Container, name: string) => c.env?.find((e) => e.name === name);
const spec = <T>(m: Manifest) => m.spec as T;

describe('every scenario', () => {
  it('renders manifests that pass the Kubernetes, KEDA and Prometheus Operator schemas', async () => {
    for (const [name, manifests] of Object.entries(rendered)) {
      expect({ name, errors: await schemaErrors(manifests) }).toEqual({ name, errors: [] });
    }
  });

  it('uses no field the kinds do not have', () => {
    const errors = unknownFieldErrors(rendered);
    for (const name of Object.keys(rendered)) expect({ name, errors: errors[name] }).toEqual({ name, errors: [] });
  });

  it('sets only variables the app reads (a misspelt one would be ignored without a word)', () => {
    const known = new Set(CONFIG_VARIABLES);
    for (const [name, manifests] of Object.entries(rendered)) {
      const unknown: string[] = [];
      for (const m of manifests) {
        if (m.kind === 'ConfigMap' && !m.metadata.name.endsWith('-dashboard')) {
          unknown.push(
            ...Object.keys(m.data as object)
              .filter((k) => !known.has(k))
              .map((k) => `${m.metadata.name}: ${k}`),
          );
        }
        if (m.kind === 'Deployment' || m.kind === 'Job') {
          for (const c of podSpec(m).containers) {
            unknown.push(
              ...(c.env ?? []).filter((e) => !known.has(e.name)).map((e) => `${m.metadata.name}: ${e.name}`),
            );
          }
        }
      }
      expect({ name, unknown }).toEqual({ name, unknown: [] });
    }
  });

  it('runs every container as the image user, unprivileged, on a read-only root with volumes where the app writes', () => {
    for (const manifests of Object.values(rendered)) {
      for (const m of manifests.filter((x) => x.kind === 'Deployment' || x.kind === 'Job')) {
        const pod = podSpec(m);
        expect(pod).toMatchObject({
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            fsGroup: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
        });
        for (const c of pod.containers) {
          expect(c.securityContext).toEqual({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            runAsUser: 1000,
            capabilities: { drop: ['ALL'] },
          });
          const mounts = (c.volumeMounts as { mountPath: string }[]).map((v) => v.mountPath);
          expect(mounts).toEqual(expect.arrayContaining(['/data', '/tmp']));
          if (m.kind === 'Deployment') {
            // The shared model volume, or with S3 the pod's own cache of the bucket.
            expect(mounts).toContain(
              m.metadata.name.includes('s3') || mounts.includes('/data/model-cache')
                ? '/data/model-cache'
                : '/data/models',
            );
          }
          expect(c.resources?.requests).toBeDefined();
          expect(c.resources?.limits?.memory).toBeDefined();
        }
      }
    }
  });
});

describe('minimal install (defaults plus the three required secrets)', () => {
  const m = () => rendered.minimal;

  it('renders the API, CPU workers, their scaling, budgets, policies and the migration hook, and no GPU worker', () => {
    expect(names(m())).toEqual(
      [
        `ConfigMap/${fullname}`,
        `Deployment/${fullname}-api`,
        `Deployment/${fullname}-worker-cpu`,
        `HorizontalPodAutoscaler/${fullname}-api`,
        `Job/${fullname}-migrations`,
        `NetworkPolicy/${fullname}-api`,
        `NetworkPolicy/${fullname}-egress`,
        `NetworkPolicy/${fullname}-no-ingress`,
        `PersistentVolumeClaim/${fullname}-models`,
        `PodDisruptionBudget/${fullname}-api`,
        `PodDisruptionBudget/${fullname}-worker-cpu`,
        `ScaledObject/${fullname}-worker-cpu`,
        `Secret/${fullname}`,
        `Secret/${fullname}-migrations`,
        `Service/${fullname}-api`,
        `ServiceAccount/${fullname}`,
        `TriggerAuthentication/${fullname}-redis`,
      ].sort(),
    );
  });

  it('starts each process in production mode with the environment Kubernetes would give it', () => {
    const configMap = find(m(), 'ConfigMap', fullname).data as Record<string, string>;
    const secret = find(m(), 'Secret', fullname).stringData as Record<string, string>;
    const hookSecret = find(m(), 'Secret', `${fullname}-migrations`).stringData as Record<string, string>;
    for (const [workload, secrets] of [
      [deployment(m(), 'api'), secret],
      [deployment(m(), 'worker-cpu'), secret],
      [find(m(), 'Job', `${fullname}-migrations`), hookSecret],
    ] as const) {
      const c = container(workload);
      const env: Record<string, string> = c.envFrom?.length ? { ...configMap } : {};
      for (const e of c.env ?? []) env[e.name] = e.value ?? secrets[e.valueFrom!.secretKeyRef!.key];
      // loadConfig throws in production without a signing key.
      const config = loadConfig(env);
      expect({ env: config.env, databaseUrl: config.databaseUrl, redisUrl: config.redisUrl }).toEqual({
        env: 'production',
        databaseUrl: MINIMAL_VALUES.secrets.env.DATABASE_URL,
        redisUrl: MINIMAL_VALUES.secrets.env.REDIS_URL,
      });
    }
    expect(envValue(container(deployment(m(), 'api')), 'RUN_JOBS')?.value).toBe('false');
    expect(container(deployment(m(), 'api')).command).toEqual(['node', 'dist/src/main.js']);
    expect(container(deployment(m(), 'worker-cpu')).command).toEqual(['node', 'dist/src/worker.js']);
  });

  it('probes the API on /health/live and /health/ready, and drains it before SIGTERM within its grace period', () => {
    const c = container(deployment(m(), 'api'));
    expect(c).toMatchObject({
      startupProbe: { httpGet: { path: '/health/live', port: 'http' } },
      livenessProbe: { httpGet: { path: '/health/live', port: 'http' } },
      readinessProbe: { httpGet: { path: '/health/ready', port: 'http' } },
      lifecycle: { preStop: { sleep: { seconds: 5 } } },
      ports: [
        { name: 'http', containerPort: 4000 },
        { name: 'metrics', containerPort: 9464 },
      ],
    });
    // preStop 5 s + SHUTDOWN_GRACE_MS 25 s + the app's 5 s deadline margin < 40 s.
    expect(podSpec(deployment(m(), 'api')).terminationGracePeriodSeconds).toBe(40);
    expect(spec<{ replicas?: number }>(deployment(m(), 'api')).replicas).toBeUndefined();
  });

  it('mounts one shared ReadWriteMany claim for models in the API and the workers, kept on uninstall', () => {
    const pvc = find(m(), 'PersistentVolumeClaim', `${fullname}-models`);
    expect(pvc.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
    expect(spec<{ accessModes: string[] }>(pvc).accessModes).toEqual(['ReadWriteMany']);
    for (const component of ['api', 'worker-cpu']) {
      expect(podSpec(deployment(m(), component)).volumes).toContainEqual({
        name: 'models',
        persistentVolumeClaim: { claimName: `${fullname}-models` },
      });
    }
  });

  it('scales CPU workers with KEDA on the BullMQ lists, from a floor of one', () => {
    const so = spec<{
      scaleTargetRef: { name: string };
      minReplicaCount: number;
      triggers: { type: string; name: string; metadata: Record<string, string>; authenticationRef: { name: string } }[];
    }>(find(m(), 'ScaledObject', `${fullname}-worker-cpu`));
    expect(so.scaleTargetRef.name).toBe(`${fullname}-worker-cpu`);
    expect(so.minReplicaCount).toBe(1);
    expect(so.triggers.map((t) => [t.type, t.metadata.listName, t.metadata.listLength])).toEqual([
      ['redis', 'mm:predictions:wait', '8'],
      ['redis', 'mm:predictions:active', '8'],
      ['redis', 'mm:webhooks:wait', '50'],
    ]);
    // Address, database and TLS from REDIS_URL; the password from the chart's Secret.
    expect(so.triggers[0].metadata).toMatchObject({
      address: 'redis.data:6379',
      databaseIndex: '2',
      enableTLS: 'false',
    });
    expect(so.triggers.every((t) => t.authenticationRef.name === `${fullname}-redis`)).toBe(true);
    expect(spec(find(m(), 'TriggerAuthentication', `${fullname}-redis`))).toEqual({
      secretTargetRef: [{ parameter: 'password', name: fullname, key: 'keda-redis-password' }],
    });
    expect(find(m(), 'Secret', fullname).stringData).toMatchObject({ 'keda-redis-password': 'redis-password' });
    // KEDA owns the replica count.
    expect(spec<{ replicas?: number }>(deployment(m(), 'worker-cpu')).replicas).toBeUndefined();
  });

  it('migrates in a pre-install/pre-upgrade hook Job, with its own copy of the secrets', () => {
    const job = find(m(), 'Job', `${fullname}-migrations`);
    expect(job.metadata.annotations).toMatchObject({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '0',
    });
    const hookSecret = find(m(), 'Secret', `${fullname}-migrations`);
    expect(Number(hookSecret.metadata.annotations!['helm.sh/hook-weight'])).toBeLessThan(0);
    expect(container(job).command).toEqual(['node', 'dist/scripts/migrate.js']);
    expect(container(job).envFrom).toBeUndefined();
    expect((container(job).env ?? []).filter((e) => e.valueFrom).map((e) => e.valueFrom!.secretKeyRef!.name)).toEqual([
      `${fullname}-migrations`,
      `${fullname}-migrations`,
      `${fullname}-migrations`,
    ]);
  });

  it('rolls the pods when the config or the secret changes', () => {
    const changed = render(merge(MINIMAL_VALUES, { config: { LOG_LEVEL: 'debug' } }));
    const annotations = (d: Manifest) =>
      (d.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations;
    expect(annotations(deployment(changed, 'api'))['checksum/config']).not.toBe(
      annotations(deployment(m(), 'api'))['checksum/config'],
    );
    expect(annotations(deployment(changed, 'api'))['checksum/secret']).toBe(
      annotations(deployment(m(), 'api'))['checksum/secret'],
    );
  });

  it('passes helm lint --strict', () => {
    const result = helmLint(MINIMAL_VALUES);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });
});

describe('GPU workers', () => {
  it('ask for a GPU on GPU nodes, run the gpu image, and scale from zero on a backlog', () => {
    const gpu = deployment(rendered.gpu, 'worker-gpu');
    const pod = podSpec(gpu);
    expect(container(gpu).image).toBe('model-marketplace:0.1.0-gpu');
    expect(container(gpu).resources?.limits?.['nvidia.com/gpu']).toBe(1);
    expect(pod.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(envValue(container(gpu), 'INFERENCE_DEVICES')?.value).toBe('webgpu,cpu');
    const so = spec<{ minReplicaCount: number; triggers: { metadata: Record<string, string> }[] }>(
      find(rendered.gpu, 'ScaledObject', `${fullname}-worker-gpu`),
    );
    expect(so.minReplicaCount).toBe(0);
    expect(so.triggers.map((t) => t.metadata)).toEqual([
      expect.objectContaining({ listName: 'mm:predictions:wait', listLength: '16', activationListLength: '20' }),
    ]);
    // The CPU workers are still there, and the API does not run jobs.
    expect(deployment(rendered.gpu, 'worker-cpu')).toBeDefined();
    expect(envValue(container(deployment(rendered.gpu, 'api')), 'RUN_JOBS')?.value).toBe('false');
  });

  it('keep a warm minimum when asked, with a RuntimeClass, and GPU workers alone still take jobs off the API', () => {
    const m = rendered['gpu-warm-no-cpu'];
    expect(spec<{ minReplicaCount: number }>(find(m, 'ScaledObject', `${fullname}-worker-gpu`)).minReplicaCount).toBe(
      1,
    );
    expect(podSpec(deployment(m, 'worker-gpu')).runtimeClassName).toBe('nvidia');
    expect(names(m).filter((n) => n.includes('worker-cpu'))).toEqual([]);
    expect(envValue(container(deployment(m, 'api')), 'RUN_JOBS')?.value).toBe('false');
  });

  it('are absent by default', () => {
    expect(names(rendered.minimal).filter((n) => n.includes('gpu'))).toEqual([]);
  });
});

describe('existing Secret', () => {
  const m = () => rendered['existing-secret'];

  it('creates no Secret and reads every secret variable from the named one, optional where the app allows', () => {
    expect(names(m()).filter((n) => n.startsWith('Secret/'))).toEqual([]);
    for (const workload of [
      deployment(m(), 'api'),
      deployment(m(), 'worker-cpu'),
      find(m(), 'Job', `${fullname}-migrations`),
    ]) {
      const refs = (container(workload).env ?? [])
        .filter((e) => e.valueFrom)
        .map((e) => [e.name, e.valueFrom!.secretKeyRef]);
      expect(refs).toEqual([
        ['DATABASE_URL', { name: EXTERNAL_SECRET, key: 'database-url' }],
        ['REDIS_URL', { name: EXTERNAL_SECRET, key: 'REDIS_URL' }],
        ['JWT_SECRET', { name: EXTERNAL_SECRET, key: 'JWT_SECRET', optional: true }],
        ['JWT_PRIVATE_KEYS', { name: EXTERNAL_SECRET, key: 'JWT_PRIVATE_KEYS', optional: true }],
        ['STRIPE_SECRET_KEY', { name: EXTERNAL_SECRET, key: 'STRIPE_SECRET_KEY', optional: true }],
        ['STRIPE_WEBHOOK_SECRET', { name: EXTERNAL_SECRET, key: 'STRIPE_WEBHOOK_SECRET', optional: true }],
        ['METRICS_TOKEN', { name: EXTERNAL_SECRET, key: 'METRICS_TOKEN', optional: true }],
        ['OTEL_EXPORTER_OTLP_HEADERS', { name: EXTERNAL_SECRET, key: 'OTEL_EXPORTER_OTLP_HEADERS', optional: true }],
        ['S3_ACCESS_KEY_ID', { name: EXTERNAL_SECRET, key: 'S3_ACCESS_KEY_ID', optional: true }],
        ['S3_SECRET_ACCESS_KEY', { name: EXTERNAL_SECRET, key: 'S3_SECRET_ACCESS_KEY', optional: true }],
        ['SMTP_URL', { name: EXTERNAL_SECRET, key: 'SMTP_URL', optional: true }],
      ]);
    }
    const annotations = (deployment(m(), 'api').spec as { template: { metadata: { annotations: object } } }).template
      .metadata.annotations;
    expect(Object.keys(annotations)).toEqual(['checksum/config']);
  });

  it('points KEDA at the Redis address and password Secret it is given', () => {
    const so = spec<{ triggers: { metadata: Record<string, string> }[] }>(
      find(m(), 'ScaledObject', `${fullname}-worker-cpu`),
    );
    expect(so.triggers[0].metadata).toMatchObject({
      address: 'redis.data:6380',
      enableTLS: 'true',
      databaseIndex: '0',
    });
    expect(spec(find(m(), 'TriggerAuthentication', `${fullname}-redis`))).toEqual({
      secretTargetRef: [{ parameter: 'password', name: 'redis-auth', key: 'password' }],
    });
  });

  it('needs the Redis address for KEDA, which it cannot read from a Secret it does not render', () => {
    expect(renderError({ secrets: { existingSecret: EXTERNAL_SECRET } })).toContain(
      'keda.redis.address (host:port) is required with secrets.existingSecret',
    );
  });
});

describe('toggles', () => {
  it('ingress: routes the host to the API Service port, with TLS and the class', () => {
    const ingress = find(rendered.ingress, 'Ingress', `${fullname}-api`);
    expect(ingress.metadata.annotations).toEqual({ 'nginx.ingress.kubernetes.io/proxy-body-size': '1100m' });
    expect(ingress.spec).toEqual({
      ingressClassName: 'nginx',
      tls: [{ secretName: 'api-tls', hosts: ['api.marketplace.example'] }],
      rules: [
        {
          host: 'api.marketplace.example',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: `${fullname}-api`, port: { name: 'http' } } },
              },
            ],
          },
        },
      ],
    });
    expect(names(rendered.minimal).filter((n) => n.startsWith('Ingress/'))).toEqual([]);
  });

  it('metrics: a ServiceMonitor on a separate metrics port with a bearer token, rules and dashboard from the repository files', () => {
    const m = rendered['metrics-auth'];
    const sm = find(m, 'ServiceMonitor', `${fullname}-api`);
    expect(sm.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
    expect(sm.spec).toEqual({
      selector: {
        matchLabels: {
          'app.kubernetes.io/name': 'model-marketplace',
          'app.kubernetes.io/instance': 'mm',
          'app.kubernetes.io/component': 'api',
        },
      },
      endpoints: [
        {
          port: 'metrics',
          path: '/metrics',
          interval: '30s',
          scrapeTimeout: '10s',
          authorization: { type: 'Bearer', credentials: { name: 'metrics-token', key: 'token' } },
        },
      ],
    });
    const service = find(m, 'Service', `${fullname}-api`);
    expect((service.spec as { ports: object[] }).ports).toContainEqual({
      name: 'metrics',
      port: 9464,
      targetPort: 'metrics',
      protocol: 'TCP',
    });
    expect(container(deployment(m, 'api')).ports).toContainEqual({
      name: 'metrics',
      containerPort: 9464,
      protocol: 'TCP',
    });
    // With apiFrom restricted, the metrics port has its own rule.
    const policy = spec<{ ingress: { ports: { port: string }[]; from?: object[] }[] }>(
      find(m, 'NetworkPolicy', `${fullname}-api`),
    );
    expect(policy.ingress.map((r) => [r.ports[0].port, r.from?.length ?? 'anyone'])).toEqual([
      ['http', 1],
      ['metrics', 'anyone'],
    ]);

    const rule = find(m, 'PrometheusRule', fullname);
    const rulesFile: unknown = parse(readFileSync(`${CHART_DIR}/files/alerts.yaml`, 'utf8'));
    expect(rule.spec).toEqual(rulesFile);
    const dashboard = find(m, 'ConfigMap', `${fullname}-dashboard`);
    expect(dashboard.metadata).toMatchObject({ namespace: 'monitoring', labels: { grafana_dashboard: '1' } });
    expect(JSON.parse((dashboard.data as Record<string, string>)['model-marketplace.json'])).toEqual(
      JSON.parse(readFileSync(`${CHART_DIR}/files/grafana-dashboard.json`, 'utf8')),
    );
  });

  it('metrics default: served only on their own port (METRICS_PORT), which the ServiceMonitor scrapes without Authorization', () => {
    const m = render(merge(MINIMAL_VALUES, { metrics: { serviceMonitor: { enabled: true } } }));
    const sm = find(m, 'ServiceMonitor', `${fullname}-api`);
    expect((sm.spec as { endpoints: object[] }).endpoints).toEqual([
      { port: 'metrics', path: '/metrics', interval: '30s', scrapeTimeout: '10s' },
    ]);
    expect(envValue(container(deployment(m, 'api')), 'METRICS_PORT')?.value).toBe('9464');
  });

  it('KEDA and HPA off: fixed replica counts, no ScaledObject or HPA', () => {
    const m = rendered['no-keda-no-hpa'];
    expect(names(m).filter((n) => /ScaledObject|TriggerAuthentication|HorizontalPodAutoscaler/.test(n))).toEqual([]);
    expect(spec<{ replicas: number }>(deployment(m, 'api')).replicas).toBe(3);
    expect(spec<{ replicas: number }>(deployment(m, 'worker-cpu')).replicas).toBe(1);
    expect(spec<{ replicas: number }>(deployment(m, 'worker-gpu')).replicas).toBe(2);
    expect(find(m, 'Secret', fullname).stringData).not.toHaveProperty('keda-redis-password');
  });

  it('request-rate HPA: a per-pod custom metric besides CPU', () => {
    const hpa = spec<{ metrics: object[] }>(
      find(rendered['request-rate-hpa'], 'HorizontalPodAutoscaler', `${fullname}-api`),
    );
    expect(hpa.metrics).toEqual([
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
      {
        type: 'Pods',
        pods: { metric: { name: 'http_requests_per_second' }, target: { type: 'AverageValue', averageValue: '50' } },
      },
    ]);
  });

  it('tracing: OTEL_* in the ConfigMap, collector credentials from the Secret, a service name per component', () => {
    const m = rendered.tracing;
    const configMap = find(m, 'ConfigMap', fullname).data as Record<string, string>;
    expect(configMap).toMatchObject({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.observability:4318' });
    expect(configMap).not.toHaveProperty('OTEL_EXPORTER_OTLP_HEADERS');
    expect(find(m, 'Secret', fullname).stringData).toMatchObject({
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer collector-token',
    });
    for (const component of ['api', 'worker-cpu', 'worker-gpu']) {
      const c = container(deployment(m, component));
      expect(envValue(c, 'OTEL_EXPORTER_OTLP_HEADERS')?.valueFrom?.secretKeyRef).toEqual({
        name: fullname,
        key: 'OTEL_EXPORTER_OTLP_HEADERS',
      });
    }
    expect(envValue(container(deployment(m, 'worker-gpu')), 'OTEL_SERVICE_NAME')?.value).toBe(
      'model-marketplace-gpu-worker',
    );
    expect(envValue(container(deployment(m, 'api')), 'OTEL_SERVICE_NAME')).toBeUndefined();
  });

  it('s3-storage: no shared volume, a model cache per pod, the bucket keys from the Secret', () => {
    const m = rendered['s3-storage'];
    expect(m.filter((x) => x.kind === 'PersistentVolumeClaim')).toEqual([]);
    expect(find(m, 'ConfigMap', fullname).data).toMatchObject({ MODEL_STORAGE: 's3', S3_BUCKET: 'marketplace-models' });
    expect(find(m, 'Secret', fullname).stringData).toMatchObject({
      S3_ACCESS_KEY_ID: 'minio-key-id',
      S3_SECRET_ACCESS_KEY: 'minio-secret-key',
    });
    for (const component of ['api', 'worker-cpu']) {
      const pod = podSpec(deployment(m, component));
      expect(pod.volumes).toContainEqual({ name: 'model-cache', emptyDir: { sizeLimit: '8Gi' } });
      expect(pod.volumes?.map((v) => v.name)).not.toContain('models');
      const c = container(deployment(m, component));
      expect(c.volumeMounts).toContainEqual({ name: 'model-cache', mountPath: '/data/model-cache' });
      expect(envValue(c, 'S3_SECRET_ACCESS_KEY')?.valueFrom?.secretKeyRef).toEqual({
        name: fullname,
        key: 'S3_SECRET_ACCESS_KEY',
      });
    }
    // Refused without a bucket, naming the value.
    expect(() => render(merge(MINIMAL_VALUES, { config: { MODEL_STORAGE: 's3' } }))).toThrow(
      'config.S3_BUCKET is required',
    );
  });

  it('a JWK set instead of HMAC secrets, and a TLS Redis with an ACL user for KEDA', () => {
    const m = rendered['jwks-acl-redis'];
    const secret = find(m, 'Secret', fullname).stringData as Record<string, string>;
    expect(Object.keys(secret).sort()).toEqual(
      ['DATABASE_URL', 'JWT_PRIVATE_KEYS', 'REDIS_URL', 'keda-redis-password', 'keda-redis-username'].sort(),
    );
    expect(secret).toMatchObject({ 'keda-redis-password': 'acl-password', 'keda-redis-username': 'marketplace' });
    const so = spec<{ triggers: { metadata: Record<string, string> }[] }>(
      find(m, 'ScaledObject', `${fullname}-worker-cpu`),
    );
    expect(so.triggers[0].metadata).toMatchObject({
      address: 'redis.data:6380',
      enableTLS: 'true',
      databaseIndex: '0',
    });
    expect(spec(find(m, 'TriggerAuthentication', `${fullname}-redis`))).toEqual({
      secretTargetRef: [
        { parameter: 'password', name: fullname, key: 'keda-redis-password' },
        { parameter: 'username', name: fullname, key: 'keda-redis-username' },
      ],
    });
  });
});

describe('values it refuses, with a message naming the value', () => {
  it('bare defaults: no database, Redis or signing key is invented', () => {
    expect(renderError({})).toContain('secrets.env.DATABASE_URL is required');
    expect(renderError(merge(MINIMAL_VALUES, { secrets: { env: { REDIS_URL: '' } } }))).toContain(
      'secrets.env.REDIS_URL is required',
    );
  });

  it('production without a signing key', () => {
    expect(renderError(merge(MINIMAL_VALUES, { secrets: { env: { JWT_SECRET: '' } } }))).toContain(
      'secrets.env.JWT_SECRET or secrets.env.JWT_PRIVATE_KEYS is required',
    );
  });

  it('a variable the app does not read, a secret one in the ConfigMap, or one the chart sets itself', () => {
    expect(renderError(merge(MINIMAL_VALUES, { config: { JWT_SECRET_KEYS: 'x' } }))).toContain(
      "invalid propertyName 'JWT_SECRET_KEYS'",
    );
    expect(renderError(merge(MINIMAL_VALUES, { config: { DATABASE_URL: 'postgresql://x@y/z' } }))).toContain(
      "invalid propertyName 'DATABASE_URL'",
    );
    expect(renderError(merge(MINIMAL_VALUES, { api: { env: { RUN_JOBS: 'true' } } }))).toContain(
      "invalid propertyName 'RUN_JOBS'",
    );
    expect(renderError(merge(MINIMAL_VALUES, { api: { replicass: 3 } }))).toContain(
      "additional properties 'replicass' not allowed",
    );
  });

  it('a grace period Kubernetes would cut short', () => {
    expect(renderError(merge(MINIMAL_VALUES, { api: { terminationGracePeriodSeconds: 30 } }))).toContain(
      'api.terminationGracePeriodSeconds (30) must exceed preStopSleepSeconds + SHUTDOWN_GRACE_MS + 5 s = 35 s',
    );
    expect(renderError(merge(MINIMAL_VALUES, { workers: { cpu: { env: { SHUTDOWN_GRACE_MS: '60000' } } } }))).toContain(
      'workers.cpu.terminationGracePeriodSeconds (60) must exceed SHUTDOWN_GRACE_MS + 5 s = 65 s',
    );
  });

  it('no worker left to take jobs below the GPU activation threshold', () => {
    expect(renderError(merge(MINIMAL_VALUES, { workers: { cpu: { autoscaling: { minReplicas: 0 } } } }))).toContain(
      'workers.cpu.autoscaling.minReplicas must be at least 1',
    );
    expect(
      renderError(merge(MINIMAL_VALUES, { workers: { cpu: { enabled: false }, gpu: { enabled: true } } })),
    ).toContain('workers.gpu.autoscaling.minReplicas must be at least 1 when CPU workers are off');
  });
});

describe('values.schema.json', () => {
  it('lets `config` and the components set every app variable except the secret ones and those the chart sets', () => {
    const schema = JSON.parse(readFileSync(`${CHART_DIR}/values.schema.json`, 'utf8')) as {
      definitions: { appEnv: { propertyNames: { enum: string[] } } };
    };
    const chartSet = ['PORT', 'RUN_JOBS', 'METRICS_PORT'];
    const expected = CONFIG_VARIABLES.filter((v) => !SECRET_KEYS.includes(v) && !chartSet.includes(v));
    // A new variable in src/config.ts fails here until it is added to values.schema.json's appEnv.
    expect([...schema.definitions.appEnv.propertyNames.enum].sort()).toEqual([...expected].sort());
  });

  it('and the secret variables the chart wires are src/config.ts SECRET_KEYS', () => {
    const helpers = readFileSync(`${CHART_DIR}/templates/_helpers.tpl`, 'utf8');
    const wired = /define "mm\.secretVariables" -}}\n(.*)\n/.exec(helpers)![1].split(' ');
    expect([...wired].sort()).toEqual([...SECRET_KEYS].sort());
  });
});

it('is rendered by Helm 4', () => {
  expect(helm(['version', '--short']).stdout).toMatch(/^v4\.1\./);
});
