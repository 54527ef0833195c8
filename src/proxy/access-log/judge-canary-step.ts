/**
 * One canary step judged on nginx's numbers (pure): wait, pass, or abort, with the reason a person
 * reads in `status`, history and events.
 *
 * In order:
 * 1. fewer than `minRequests` requests to the canary in the step: wait ("10%: 12 of 50 requests"),
 *    however bad those few look;
 * 2. the canary's error rate over `maxErrorRate` (percent): abort at once, without waiting out the
 *    interval, unless the stable revision fails alike in the same window: it has had
 *    `minRequests` requests itself, its own rate is over `maxErrorRate`, and the canary's rate
 *    exceeds it by no more than `maxErrorRate` (the canary adds no more than the budget to what
 *    everyone sees). Then the backend fails for everyone: wait;
 * 3. the same for the p95 of the upstream response time against `maxLatencyP95` (ms), when set:
 *    slow alike when the stable revision's p95 is over the threshold too and the canary's exceeds
 *    it by no more than `maxLatencyP95`;
 * 4. within the thresholds but the interval not yet over: wait;
 * 5. otherwise: pass.
 */
import type { RevisionStats } from './revision-stats.js';

/** Rates are quotients of counts: 28/400 less 216/3600 must be 1 point, not 1.0000000000000009. */
const EPSILON = 1e-9;

/** The canary's thresholds (the manifest's `deploy.canary`, less the steps). */
export interface CanaryThresholds {
  /** Percent of the canary's requests that may fail (status 500 or more, failed connections). */
  maxErrorRate: number;
  /** ms: the highest 95th percentile of the canary's upstream response time. */
  maxLatencyP95?: number;
  /** The canary's requests needed before a step is judged. */
  minRequests: number;
  /** Seconds at each step. */
  interval: number;
}

/** What one step's judgement saw of the canary: what events, history and metrics carry. */
export interface JudgedNumbers {
  requests: number;
  errors: number;
  /** Percent. */
  errorRate: number;
  p95Ms?: number;
}

/** The decision about one step. */
export type CanaryVerdict =
  | { kind: 'wait'; reason: string; canary: JudgedNumbers }
  | { kind: 'pass'; canary: JudgedNumbers }
  | { kind: 'abort'; reason: string; canary: JudgedNumbers };

/** What one step is judged on: both revisions' numbers since the step started. */
export interface CanaryStepInput {
  canary: RevisionStats;
  stable: RevisionStats;
  spec: CanaryThresholds;
  /** ms since the epoch. */
  stepStartedAt: number;
  /** ms since the epoch. */
  now: number;
  /** The canary's share of requests at this step. */
  percent: number;
}

/** Judges one step; see the module comment for the order of the rules. */
export function judgeCanaryStep(input: CanaryStepInput): CanaryVerdict {
  const { canary, stable, spec, percent } = input;
  const numbers = judgedNumbers(canary);
  if (canary.requests < spec.minRequests) {
    return {
      kind: 'wait',
      reason: `${percent}%: ${count(canary.requests)} of ${count(spec.minRequests)} requests`,
      canary: numbers,
    };
  }
  const canaryRate = numbers.errorRate;
  if (canaryRate > spec.maxErrorRate + EPSILON) {
    const stableRate = errorRate(stable);
    if (
      stable.requests >= spec.minRequests &&
      stableRate > spec.maxErrorRate + EPSILON &&
      canaryRate - stableRate <= spec.maxErrorRate + EPSILON
    ) {
      return {
        kind: 'wait',
        reason: `the stable revision fails alike (${rate(stableRate)} errors): the backend fails for everyone; waiting`,
        canary: numbers,
      };
    }
    return {
      kind: 'abort',
      reason: `${rate(canaryRate)} errors over ${count(canary.requests)} requests at ${percent}% (the stable revision: ${stableSummary(stable)})`,
      canary: numbers,
    };
  }
  const limit = spec.maxLatencyP95;
  if (limit !== undefined && canary.p95Ms !== undefined && canary.p95Ms > limit) {
    const stableP95 = stable.p95Ms;
    if (
      stable.requests >= spec.minRequests &&
      stableP95 !== undefined &&
      stableP95 > limit &&
      canary.p95Ms - stableP95 <= limit
    ) {
      return {
        kind: 'wait',
        reason: `the stable revision is slow alike (p95 ${count(stableP95)} ms): the backend is slow for everyone; waiting`,
        canary: numbers,
      };
    }
    return {
      kind: 'abort',
      reason: `p95 ${count(canary.p95Ms)} ms over ${count(canary.requests)} requests at ${percent}%, above ${count(limit)} ms (the stable revision: ${stableP95 === undefined ? 'no timed requests' : `p95 ${count(stableP95)} ms`})`,
      canary: numbers,
    };
  }
  const elapsedMs = input.now - input.stepStartedAt;
  const intervalMs = spec.interval * 1000;
  if (elapsedMs < intervalMs) {
    return {
      kind: 'wait',
      reason: `${percent}%: ${rate(canaryRate)} errors over ${count(canary.requests)} requests, ${count(Math.max(0, Math.floor(elapsedMs / 1000)))} of ${count(spec.interval)} s`,
      canary: numbers,
    };
  }
  return { kind: 'pass', canary: numbers };
}

function judgedNumbers(stats: RevisionStats): JudgedNumbers {
  const numbers: JudgedNumbers = { requests: stats.requests, errors: stats.errors, errorRate: errorRate(stats) };
  if (stats.p95Ms !== undefined) numbers.p95Ms = stats.p95Ms;
  return numbers;
}

/** Percent of requests that failed; 0 with no requests. */
function errorRate(stats: RevisionStats): number {
  return stats.requests === 0 ? 0 : (stats.errors / stats.requests) * 100;
}

function stableSummary(stable: RevisionStats): string {
  return stable.requests === 0 ? 'no requests' : `${rate(errorRate(stable))} over ${count(stable.requests)}`;
}

/** `7.1%`: one decimal. */
function rate(percent: number): string {
  return `${percent.toFixed(1)}%`;
}

/** `3,702`. */
function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
