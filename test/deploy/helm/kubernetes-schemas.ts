import { resolve } from 'node:path';
import ts from 'typescript';
import type { Manifest } from './render.js';

/**
 * Validation of rendered manifests, offline, in two passes:
 *
 * - the OpenAPI schemas, through kubernetes-models (Kubernetes 1.34), @kubernetes-models/keda
 *   (KEDA 2.19's CRDs) and @kubernetes-models/prometheus-operator (its CRDs): types, required
 *   fields, enums and formats such as quantities;
 * - unknown fields, which those schemas let through (the API server refuses them: kubectl and
 *   Helm ask for strict field validation). The same packages ship TypeScript interfaces for every
 *   kind; each manifest becomes an object literal typed by its interface, and the compiler's
 *   excess-property check names any field the kind does not have, at any depth — a misspelt
 *   `readinesProbe`, or `tolerations` indented into the container.
 *
 * A kind the chart renders but this table lacks fails the test: add its package path here.
 */
const KINDS: Record<string, string> = {
  'v1/ConfigMap': 'kubernetes-models/v1/ConfigMap',
  'v1/Secret': 'kubernetes-models/v1/Secret',
  'v1/Service': 'kubernetes-models/v1/Service',
  'v1/ServiceAccount': 'kubernetes-models/v1/ServiceAccount',
  'v1/PersistentVolumeClaim': 'kubernetes-models/v1/PersistentVolumeClaim',
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'batch/v1/Job': 'kubernetes-models/batch/v1/Job',
  'autoscaling/v2/HorizontalPodAutoscaler': 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
  'networking.k8s.io/v1/NetworkPolicy': 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
  'networking.k8s.io/v1/Ingress': 'kubernetes-models/networking.k8s.io/v1/Ingress',
  'keda.sh/v1alpha1/ScaledObject': '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject',
  'keda.sh/v1alpha1/TriggerAuthentication': '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication',
  'monitoring.coreos.com/v1/ServiceMonitor':
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
  'monitoring.coreos.com/v1/PrometheusRule':
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
};

const label = (m: Manifest) => `${m.kind}/${m.metadata.name}`;

function modulePath(m: Manifest): string {
  const path = KINDS[`${m.apiVersion}/${m.kind}`];
  if (!path)
    throw new Error(`${label(m)}: ${m.apiVersion} ${m.kind} has no schema in test/deploy/helm/kubernetes-schemas.ts`);
  return path;
}

type ModelClass = new (data: unknown) => { validate(): void };

/** Schema errors, one line per manifest that has any. */
export async function schemaErrors(manifests: Manifest[]): Promise<string[]> {
  const errors: string[] = [];
  for (const m of manifests) {
    const path = modulePath(m);
    const module = (await import(path)) as Record<string, ModelClass>;
    try {
      new module[m.kind](m).validate();
    } catch (err) {
      errors.push(`${label(m)}: ${(err as Error).message}`);
    }
  }
  return errors;
}

/**
 * Fields no kind has, every one with its path, for several sets of manifests at once (one
 * compiler run is most of the cost): maps each set's name to its errors.
 */
export function unknownFieldErrors(sets: Record<string, Manifest[]>): Record<string, string[]> {
  const all = Object.values(sets).flat();
  const paths = [...new Set(all.map(modulePath))];
  // One virtual source beside this file (node_modules resolve as for any test file) declaring a
  // value of each kind's interface; the walk below reads the types off those declarations.
  const file = resolve('test/deploy/helm/rendered-kinds.ts');
  const text = paths
    .map(
      (path, i) =>
        `import type { I${path.split('/').pop()} as T${i} } from '${path}';\nexport declare const k${i}: T${i};`,
    )
    .join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => resolve(name) === file || fileExists(name);
  host.getSourceFile = (name, language, onError, create) =>
    resolve(name) === file
      ? ts.createSourceFile(name, text, language, true)
      : getSourceFile(name, language, onError, create);
  const program = ts.createProgram([file], options, host);
  const source = program.getSourceFile(file)!;
  const problems = ts.getPreEmitDiagnostics(program, source);
  if (problems.length) {
    throw new Error(problems.map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')).join('\n'));
  }
  const checker = program.getTypeChecker();
  const kindTypes = new Map<string, ts.Type>();
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const declaration = statement.declarationList.declarations[0];
    const index = Number(declaration.name.getText(source).slice(1));
    kindTypes.set(paths[index], checker.getTypeAtLocation(declaration.name));
  }

  const walk = (value: unknown, type: ts.Type, path: string, errors: string[]): void => {
    if (value === null || typeof value !== 'object') return;
    const members = (type.isUnion() ? type.types : [type]).filter(
      (t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)),
    );
    if (members.some((t) => t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown))) return;
    if (Array.isArray(value)) {
      const element = members
        .map((t) => checker.getIndexTypeOfType(t, ts.IndexKind.Number))
        .find((t): t is ts.Type => t !== undefined);
      if (!element) errors.push(`${path}: a list where the kind has no list`);
      else value.forEach((item, i) => walk(item, element, `${path}[${i}]`, errors));
      return;
    }
    for (const [key, item] of Object.entries(value)) {
      const property = members.map((t) => t.getProperty(key)).find((p) => p !== undefined);
      const index = members
        .map((t) => checker.getIndexTypeOfType(t, ts.IndexKind.String))
        .find((t): t is ts.Type => t !== undefined);
      const next = property ? checker.getTypeOfSymbol(property) : index;
      if (!next) errors.push(`${path}.${key}: no such field`);
      else walk(item, next, `${path}.${key}`, errors);
    }
  };

  return Object.fromEntries(
    Object.entries(sets).map(([name, manifests]) => {
      const errors: string[] = [];
      for (const m of manifests) walk(m, kindTypes.get(modulePath(m))!, label(m), errors);
      return [name, errors];
    }),
  );
}
