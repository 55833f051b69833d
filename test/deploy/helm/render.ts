import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { helmBinary } from './helm-binary.js';

export const CHART_DIR = resolve('deploy/helm/model-marketplace');
export const RELEASE = 'mm';
export const NAMESPACE = 'marketplace';
/** The Kubernetes version the manifests are validated against (kubernetes-models 5.1: 1.34). */
export const KUBE_VERSION = '1.34.0';

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // The rest is whatever the kind has; tests read it through the helpers below.
  [field: string]: unknown;
};

/** Values a minimal install needs (README, "Deploy on Kubernetes"). */
export const MINIMAL_VALUES = {
  secrets: {
    env: {
      DATABASE_URL: 'postgresql://marketplace:db-password@postgres.data:5432/marketplace',
      REDIS_URL: 'redis://:redis-password@redis.data:6379/2',
      JWT_SECRET: `k1:${'s'.repeat(44)}`,
    },
  },
};

type HelmResult = { status: number | null; stdout: string; stderr: string };

/**
 * Runs the Helm binary with its config, cache and data folders in a scratch directory, so a
 * test never reads or writes the user's Helm setup (repositories, plugins).
 */
export function helm(args: string[]): HelmResult {
  const home = mkdtempSync(join(tmpdir(), 'helm-home-'));
  try {
    const result = spawnSync(helmBinary(), args, {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_DATA_HOME: join(home, 'data'),
      },
    });
    if (result.error) throw result.error;
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

function withValuesFile<T>(values: object, run: (file: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'helm-values-'));
  try {
    const file = join(dir, 'values.json');
    // JSON is YAML: Helm reads the file as it would a values.yaml, with no --set type guessing.
    writeFileSync(file, JSON.stringify(values));
    return run(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template` with these values (hooks included, as `helm install` would create them). */
export function helmTemplate(values: object): HelmResult {
  return withValuesFile(values, (file) =>
    helm(['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE, '--kube-version', KUBE_VERSION, '-f', file]),
  );
}

export function helmLint(values: object): HelmResult {
  return withValuesFile(values, (file) =>
    helm(['lint', '--strict', CHART_DIR, '--namespace', NAMESPACE, '--kube-version', KUBE_VERSION, '-f', file]),
  );
}

/** The manifests `helm template` renders, or the error Helm stops with. */
export function render(values: object): Manifest[] {
  const result = helmTemplate(values);
  if (result.status !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  return parseManifests(result.stdout);
}

/** Helm's error for values it must refuse (a failing render), or a test failure if it renders. */
export function renderError(values: object): string {
  const result = helmTemplate(values);
  if (result.status === 0) throw new Error('helm template rendered values it should have refused');
  return result.stderr;
}

export function parseManifests(stream: string): Manifest[] {
  return parseAllDocuments(stream)
    .map((doc) => {
      if (doc.errors.length) throw new Error(`rendered YAML does not parse: ${doc.errors.map(String).join('; ')}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

export function find(manifests: Manifest[], kind: string, name: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) {
    const present = manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} among ${present}`);
  }
  return found;
}

export const names = (manifests: Manifest[]) => manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort();

export type Container = {
  name: string;
  image: string;
  command?: string[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
  }[];
  envFrom?: { configMapRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string | number> };
  [field: string]: unknown;
};

export type PodSpec = {
  containers: Container[];
  volumes?: { name: string; [field: string]: unknown }[];
  [field: string]: unknown;
};

/** The pod template of a Deployment or Job. */
export function podSpec(manifest: Manifest): PodSpec {
  const spec = manifest.spec as { template: { spec: PodSpec } };
  return spec.template.spec;
}
