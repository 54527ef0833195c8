/**
 * berth's Prometheus metrics (prom-client), on a registry of their own: counters the controller
 * increments, gauges read from the controller's sources at scrape time, and Node's default
 * process metrics.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { PHASES, type Phase } from '../state/types.js';
import type { ControllerMetrics } from './types.js';
import type { NotifyMetrics } from '../notify/notifier.js';
import type { ImageMetrics } from './types.js';
import type { CertificateRecord } from '../state/types.js';

/** Read at each scrape. */
interface GaugeSources {
  phases(): Phase[];
  queueDepth(): number;
  manifestErrors(): number;
  /** False while writing the state file fails (a full disk, a read-only filesystem). */
  stateWritable(): boolean;
  /** The domains' certificates, when berth serves HTTPS. */
  certificates?(): CertificateRecord[];
  /** Whether the git source's remote answered at its last look, when berth follows one. */
  sourceUp?(): boolean;
  /** On Swarm with leader election: whether this replica holds the lease now. */
  leading?(): boolean;
  /** The canaries under way (deploy.canary): the new revision's share, and its numbers at the last judgement. */
  canaries?(): CanaryGauge[];
}

/** One app's canary as the gauges show it. */
export interface CanaryGauge {
  app: string;
  /** Percent of requests the new revision takes now. */
  percent: number;
  /** Its error rate in percent at the last judgement; undefined before the first. */
  errorRate?: number;
  /** Its p95 upstream response time in ms at the last judgement, when it had answers. */
  p95Ms?: number;
}

interface PrometheusMetrics extends ControllerMetrics {
  readonly registry: Registry;
  readonly notify: NotifyMetrics;
  readonly images: ImageMetrics;
}

export function createPrometheusMetrics(sources: GaugeSources): PrometheusMetrics {
  const registry = new Registry();
  // The event-loop delay sampler is a timer; 100 ms instead of 10 keeps an idle controller idle.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });

  const reconcileTotal = new Counter({
    name: 'berth_reconcile_total',
    help: 'Reconciles per app and result (success, error, requeue_after).',
    labelNames: ['app', 'result'] as const,
    registers: [registry],
  });
  const reconcileDuration = new Histogram({
    name: 'berth_reconcile_duration_seconds',
    help: 'How long one reconcile took, deploys (pull, checks, switch) included.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [registry],
  });
  const deploysTotal = new Counter({
    name: 'berth_deploys_total',
    help: 'Rollouts of a new revision per app and result (succeeded, failed, rolled_back).',
    labelNames: ['app', 'result'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'berth_apps',
    help: 'Apps per phase.',
    labelNames: ['phase'] as const,
    registers: [registry],
    collect() {
      const counts = new Map<Phase, number>(PHASES.map((phase) => [phase, 0]));
      for (const phase of sources.phases()) counts.set(phase, (counts.get(phase) ?? 0) + 1);
      for (const [phase, count] of counts) this.set({ phase }, count);
    },
  });
  new Gauge({
    name: 'berth_workqueue_depth',
    help: 'Apps waiting for a reconcile worker.',
    registers: [registry],
    collect() {
      this.set(sources.queueDepth());
    },
  });
  new Gauge({
    name: 'berth_manifest_errors',
    help: 'Problems in the manifest directory (syntax, schema, conflicts) as of its last read.',
    registers: [registry],
    collect() {
      this.set(sources.manifestErrors());
    },
  });
  new Gauge({
    name: 'berth_state_writable',
    help: '1 while the state file is written as it changes; 0 while writing it fails (berth goes on from memory and retries).',
    registers: [registry],
    collect() {
      this.set(sources.stateWritable() ? 1 : 0);
    },
  });
  if (sources.sourceUp) {
    const up = sources.sourceUp;
    new Gauge({
      name: 'berth_source_up',
      help: '1 while the git remote answered at its last look; 0 while it fails (the last good tree stays).',
      registers: [registry],
      collect() {
        this.set(up() ? 1 : 0);
      },
    });
  }
  if (sources.leading) {
    const leading = sources.leading;
    new Gauge({
      name: 'berth_leader',
      help: '1 while this replica holds the lease and acts on the swarm; 0 while it is standby (Swarm leader election).',
      registers: [registry],
      collect() {
        this.set(leading() ? 1 : 0);
      },
    });
  }
  new Gauge({
    name: 'berth_certificate_expiry_timestamp_seconds',
    help: 'When the certificate serving each domain expires (Unix time); absent while a domain has none.',
    labelNames: ['domain', 'app'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const c of sources.certificates?.() ?? [])
        if (c.notAfter !== undefined) this.set({ domain: c.domain, app: c.app }, Math.floor(c.notAfter / 1000));
    },
  });
  new Gauge({
    name: 'berth_certificate_order_failing',
    help: '1 while the last ACME order or renewal for the domain failed (it is retried with backoff), else 0.',
    labelNames: ['domain', 'app'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const c of sources.certificates?.() ?? [])
        this.set({ domain: c.domain, app: c.app }, c.error !== undefined ? 1 : 0);
    },
  });

  new Gauge({
    name: 'berth_canary_weight_percent',
    help: "Percent of an app's requests its canary (the new revision) takes now; absent while no canary runs.",
    labelNames: ['app'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const c of sources.canaries?.() ?? []) this.set({ app: c.app }, c.percent);
    },
  });
  new Gauge({
    name: 'berth_canary_error_rate_percent',
    help: "The canary's error rate (5xx answers and failed upstream connections, percent of its requests) in the step's window at the last judgement.",
    labelNames: ['app'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const c of sources.canaries?.() ?? []) if (c.errorRate !== undefined) this.set({ app: c.app }, c.errorRate);
    },
  });
  new Gauge({
    name: 'berth_canary_latency_p95_milliseconds',
    help: "The canary's p95 upstream response time in the step's window at the last judgement.",
    labelNames: ['app'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const c of sources.canaries?.() ?? []) if (c.p95Ms !== undefined) this.set({ app: c.app }, c.p95Ms);
    },
  });

  const notifications = new Counter({
    name: 'berth_notifications_total',
    help: 'Notifications per sink and result: delivered, or failed after its retries.',
    labelNames: ['sink', 'result'] as const,
    registers: [registry],
  });
  const dropped = new Counter({
    name: 'berth_notifications_dropped_total',
    help: "Notifications dropped because the sink's queue was full.",
    labelNames: ['sink'] as const,
    registers: [registry],
  });

  const imageLooks = new Counter({
    name: 'berth_image_policy_looks_total',
    help: 'Looks at a repository image automation follows, per result: ok, or the failure (unreachable, refused, not_found, rate_limited, bad_answer).',
    labelNames: ['repository', 'result'] as const,
    registers: [registry],
  });
  const imageUpdates = new Counter({
    name: 'berth_image_policy_updates_total',
    help: "Tags an image policy wrote into an app's manifest, per result: written, proposed (to --git-push-branch), or failed.",
    labelNames: ['app', 'result'] as const,
    registers: [registry],
  });

  return {
    registry,
    images: {
      looked: (repository, result) => imageLooks.inc({ repository, result }),
      updated: (app, result) => imageUpdates.inc({ app, result }),
    },
    notify: {
      delivered: (sink, result) => notifications.inc({ sink, result }),
      dropped: (sink) => dropped.inc({ sink }),
    },
    reconciled(app, outcome, seconds) {
      reconcileTotal.inc({ app, result: outcome });
      reconcileDuration.observe(seconds);
    },
    deployed(app, outcome) {
      deploysTotal.inc({ app, result: outcome });
    },
  };
}
