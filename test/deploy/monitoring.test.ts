import { readFileSync } from 'node:fs';
import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import { parse } from 'yaml';
import { registry } from '../../src/observability/metrics.js';

/**
 * The Grafana dashboard and the Prometheus alerting rules, held to the code: each PromQL
 * expression parses with Prometheus's own grammar (@prometheus-io/lezer-promql, the one the
 * Prometheus UI uses), and every series it selects is one this app's /metrics exports (read from
 * the registry in src/observability/metrics.ts at test time, default process and Node.js metrics
 * included) or one of the few KEDA, kube-state-metrics and Prometheus series allowed below; a
 * label matched on an app metric must be one of its labels or a scrape target label. A metric
 * renamed in the code fails here instead of leaving a panel empty.
 *
 * Not checked: that the app ever records a registered metric (several inference and job metrics
 * are registered but not yet observed anywhere), or what the expressions evaluate to.
 */
const DASHBOARD = 'deploy/helm/model-marketplace/files/grafana-dashboard.json';
const RULES = 'deploy/helm/model-marketplace/files/alerts.yaml';

/** Series from outside the app, each with who exports it. */
const EXTERNAL_METRICS: Record<string, string> = {
  up: 'Prometheus (per scrape target)',
  keda_scaler_metrics_value: 'KEDA operator: a trigger’s current value (the list length)',
  keda_scaler_detail_errors_total: 'KEDA operator: errors per scaler',
  kube_deployment_status_replicas_available: 'kube-state-metrics',
  kube_deployment_status_replicas_unavailable: 'kube-state-metrics',
  kube_deployment_spec_replicas: 'kube-state-metrics',
  kube_horizontalpodautoscaler_status_current_replicas: 'kube-state-metrics',
  kube_horizontalpodautoscaler_spec_max_replicas: 'kube-state-metrics',
  kube_pod_container_status_restarts_total: 'kube-state-metrics',
};

/** Labels Prometheus adds to every series of a target scraped through the chart's ServiceMonitor. */
const TARGET_LABELS = ['namespace', 'job', 'pod', 'instance', 'service', 'container', 'endpoint'];

type Exported = Map<string, Set<string>>;

/** Every sample name /metrics can carry, with its labels (histograms as _bucket, _sum, _count). */
async function exportedMetrics(): Promise<Exported> {
  const out: Exported = new Map();
  for (const metric of await registry.getMetricsAsJSON()) {
    const labels = new Set([
      ...(metric.values ?? []).flatMap((v) => Object.keys(v.labels)),
      ...labelNamesOf(metric.name),
    ]);
    if (metric.type.toString() === 'histogram') {
      out.set(`${metric.name}_bucket`, new Set([...labels, 'le']));
      out.set(`${metric.name}_sum`, labels);
      out.set(`${metric.name}_count`, labels);
    } else {
      out.set(metric.name, labels);
    }
  }
  return out;
}

/** The declared label names (a metric nothing has observed yet exports no values to read them from). */
function labelNamesOf(name: string): string[] {
  const metric = registry.getSingleMetric(name) as unknown as { labelNames?: string[] } | undefined;
  return metric?.labelNames ?? [];
}

type Selector = { metric: string; labels: string[] };

/** Parses one expression: its syntax errors and the series it selects. */
function analyse(expr: string): { errors: string[]; selectors: Selector[] } {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const selectors: Selector[] = [];
  const text = (n: SyntaxNode) => expr.slice(n.from, n.to);
  tree.iterate({
    enter(ref) {
      if (ref.type.isError)
        errors.push(`syntax error at ${ref.from}: …${expr.slice(Math.max(0, ref.from - 20), ref.from + 20)}…`);
      if (ref.name !== 'VectorSelector') return;
      const node = ref.node;
      const identifier = node.getChild('Identifier');
      const matchers = node.getChild('LabelMatchers');
      const labels = (matchers?.getChildren('UnquotedLabelMatcher') ?? []).map((m) => text(m.getChild('LabelName')!));
      const quoted = matchers?.getChildren('QuotedLabelName') ?? [];
      if (!identifier || quoted.length) errors.push(`a selector without a plain metric name: ${text(node)}`);
      else selectors.push({ metric: text(identifier), labels });
    },
  });
  return { errors, selectors };
}

/** Grafana's variables, as a query sees them once Grafana has substituted them. */
function substituteGrafanaVariables(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval/g, '5m').replace(/\$\{?(\w+)\}?/g, 'x');
}

type Dashboard = {
  uid: string;
  title: string;
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
  panels: {
    id: number;
    type: string;
    title: string;
    gridPos: { x: number; y: number; w: number; h: number };
    targets?: { expr: string; refId: string }[];
  }[];
};

type RulesFile = {
  groups: {
    name: string;
    rules: {
      alert: string;
      expr: string;
      for?: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
    }[];
  }[];
};

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const rules = parse(readFileSync(RULES, 'utf8')) as RulesFile;

/** Every PromQL expression in both files, labelled by where it is. */
function expressions(): [string, string][] {
  const out: [string, string][] = [];
  for (const panel of dashboard.panels) {
    for (const t of panel.targets ?? [])
      out.push([`panel "${panel.title}" ${t.refId}`, substituteGrafanaVariables(t.expr)]);
  }
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query') continue;
    const query = typeof v.query === 'string' ? v.query : v.query.query;
    // label_values(<selector>, <label>): the selector is PromQL.
    const selector = /^label_values\((.*),\s*\w+\)$/.exec(query)?.[1];
    if (!selector) throw new Error(`variable ${v.name}: not a label_values() query: ${query}`);
    out.push([`variable ${v.name}`, substituteGrafanaVariables(selector)]);
  }
  for (const group of rules.groups) for (const r of group.rules) out.push([`alert ${r.alert}`, r.expr]);
  return out;
}

describe('PromQL checks', () => {
  it('catch syntax errors and read the series an expression selects', () => {
    expect(analyse('sum by (route (rate(x[5m]))').errors).not.toEqual([]);
    expect(analyse('rate(x[5m]').errors).not.toEqual([]);
    expect(analyse('sum by (le) (rate(a_bucket{route="/graphql", status=~"5.."}[5m])) / on() up').selectors).toEqual([
      { metric: 'a_bucket', labels: ['route', 'status'] },
      { metric: 'up', labels: [] },
    ]);
  });
});

describe('dashboard and alerting rules', () => {
  it('are a Grafana dashboard and a Prometheus rules file', () => {
    expect(dashboard).toMatchObject({ uid: 'model-marketplace', title: 'Model marketplace' });
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      if (p.type !== 'row') expect(p.targets?.length).toBeGreaterThan(0);
    }
    const alerts = rules.groups.flatMap((g) => g.rules);
    expect(new Set(alerts.map((r) => r.alert)).size).toBe(alerts.length);
    for (const r of alerts) {
      expect(Object.keys(r).sort()).toEqual(expect.arrayContaining(['alert', 'annotations', 'expr', 'labels']));
      expect(['critical', 'warning']).toContain(r.labels.severity);
      expect(r.annotations.summary && r.annotations.description).toBeTruthy();
      if (r.for) expect(r.for).toMatch(/^\d+[smh]$/);
    }
  });

  it('cover what an operator watches: errors, latency, queue, workers, readiness, webhooks, inference and billing', () => {
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts).toEqual(
      expect.arrayContaining([
        'ModelMarketplaceHighErrorRate',
        'ModelMarketplaceNotReady',
        'ModelMarketplaceQueueBacklog',
        'ModelMarketplaceQueueAge',
        'ModelMarketplaceWorkersAtMaximum',
        'ModelMarketplaceWorkersDown',
        'ModelMarketplaceWebhookBacklog',
      ]),
    );
    const used = new Set(expressions().flatMap(([, e]) => analyse(e).selectors.map((s) => s.metric)));
    for (const metric of [
      'http_request_duration_seconds_count',
      'graphql_errors_total',
      'graphql_operation_duration_seconds_bucket',
      'keda_scaler_metrics_value',
      'prediction_queue_oldest_age_seconds',
      'inference_workers_busy',
      'inference_batch_size_bucket',
      'inference_duration_seconds_bucket',
    ]) {
      expect(used).toContain(metric);
    }
  });

  it('parse, and select only series the app exports (with their labels) or the allowed outside ones', async () => {
    const exported = await exportedMetrics();
    const problems: string[] = [];
    for (const [where, expr] of expressions()) {
      const { errors, selectors } = analyse(expr);
      problems.push(...errors.map((e) => `${where}: ${e}`));
      if (selectors.length === 0) problems.push(`${where}: selects no series`);
      for (const { metric, labels } of selectors) {
        const labelSet = exported.get(metric);
        if (!labelSet) {
          if (!(metric in EXTERNAL_METRICS))
            problems.push(`${where}: ${metric} is neither exported by the app nor allowed`);
          continue;
        }
        for (const label of labels) {
          if (!labelSet.has(label) && !TARGET_LABELS.includes(label))
            problems.push(`${where}: ${metric} has no label ${label}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
