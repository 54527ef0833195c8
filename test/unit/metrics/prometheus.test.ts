import { strict as assert } from 'node:assert';
import { createPrometheusMetrics } from '../../../src/metrics/prometheus.js';
import type { Phase } from '../../../src/state/types.js';

describe('Prometheus metrics', () => {
  it('counts reconciles and deploys per app and result, and times reconciles in a histogram', async () => {
    const metrics = createPrometheusMetrics({
      phases: () => [],
      queueDepth: () => 0,
      manifestErrors: () => 0,
      stateWritable: () => true,
    });
    metrics.reconciled('web', 'success', 0.02);
    metrics.reconciled('web', 'success', 3);
    metrics.reconciled('api', 'error', 0.5);
    metrics.deployed('web', 'succeeded');
    metrics.deployed('api', 'failed');
    const text = await metrics.registry.metrics();
    assert.match(text, /^berth_reconcile_total\{app="web",result="success"\} 2$/m);
    assert.match(text, /^berth_reconcile_total\{app="api",result="error"\} 1$/m);
    assert.match(text, /^berth_reconcile_duration_seconds_bucket\{le="0.025"\} 1$/m);
    assert.match(text, /^berth_reconcile_duration_seconds_count 3$/m);
    assert.match(text, /^berth_deploys_total\{app="web",result="succeeded"\} 1$/m);
    assert.match(text, /^berth_deploys_total\{app="api",result="failed"\} 1$/m);
  });

  it('reads apps per phase (every phase, zero included), queue depth, manifest errors and whether the state file is writable at scrape time', async () => {
    let phases: Phase[] = ['Running', 'Running', 'Failed'];
    let depth = 3;
    let writable = false;
    const metrics = createPrometheusMetrics({
      phases: () => phases,
      queueDepth: () => depth,
      manifestErrors: () => 2,
      stateWritable: () => writable,
    });
    let text = await metrics.registry.metrics();
    assert.match(text, /^berth_apps\{phase="Running"\} 2$/m);
    assert.match(text, /^berth_apps\{phase="Failed"\} 1$/m);
    assert.match(text, /^berth_apps\{phase="Pending"\} 0$/m);
    assert.match(text, /^berth_workqueue_depth 3$/m);
    assert.match(text, /^berth_manifest_errors 2$/m);
    assert.match(text, /^berth_state_writable 0$/m);
    phases = ['Deploying'];
    depth = 0;
    writable = true;
    text = await metrics.registry.metrics();
    assert.match(text, /^berth_apps\{phase="Running"\} 0$/m, 'a phase no app has any more drops to 0');
    assert.match(text, /^berth_apps\{phase="Deploying"\} 1$/m);
    assert.match(text, /^berth_workqueue_depth 0$/m);
    assert.match(text, /^berth_state_writable 1$/m);
  });

  it("shows each canary's weight and the error rate and p95 it was last judged on, and drops them when it ends", async () => {
    let canaries: { app: string; percent: number; errorRate?: number; p95Ms?: number }[] = [
      { app: 'web', percent: 25, errorRate: 7.1, p95Ms: 180 },
      { app: 'api', percent: 10 },
    ];
    const metrics = createPrometheusMetrics({
      phases: () => [],
      queueDepth: () => 0,
      manifestErrors: () => 0,
      stateWritable: () => true,
      canaries: () => canaries,
    });
    let text = await metrics.registry.metrics();
    assert.match(text, /^berth_canary_weight_percent\{app="web"\} 25$/m);
    assert.match(text, /^berth_canary_weight_percent\{app="api"\} 10$/m);
    assert.match(text, /^berth_canary_error_rate_percent\{app="web"\} 7\.1$/m);
    assert.doesNotMatch(text, /^berth_canary_error_rate_percent\{app="api"\}/m, 'not judged yet: no rate');
    assert.match(text, /^berth_canary_latency_p95_milliseconds\{app="web"\} 180$/m);
    canaries = [];
    text = await metrics.registry.metrics();
    assert.doesNotMatch(text, /^berth_canary_weight_percent\{/m, 'a canary that ended leaves no weight behind');
  });

  it('includes the default process metrics, on a registry of its own (two controllers in one process do not clash)', async () => {
    const first = createPrometheusMetrics({
      phases: () => [],
      queueDepth: () => 0,
      manifestErrors: () => 0,
      stateWritable: () => true,
    });
    const second = createPrometheusMetrics({
      phases: () => [],
      queueDepth: () => 0,
      manifestErrors: () => 0,
      stateWritable: () => true,
    });
    first.deployed('web', 'succeeded');
    assert.match(await first.registry.metrics(), /^process_cpu_seconds_total /m);
    assert.doesNotMatch(await second.registry.metrics(), /berth_deploys_total\{/);
  });
});
