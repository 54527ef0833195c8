/**
 * What happened, said once: the events berth records in its timeline and sends to notification
 * sinks. Each has a stable type name, an id, a time, the namespace and (for app events) the app.
 */
export const EVENT_TYPES = [
  'deploy.started',
  'deploy.succeeded',
  'deploy.failed',
  'deploy.rolled_back',
  'canary.step',
  'canary.promoted',
  'canary.aborted',
  'postdeploy.failed',
  'app.removed',
  'app.crash_looping',
  'drift.repaired',
  'manifest.invalid',
  'manifest.valid',
  'engine.lost',
  'engine.back',
  'source.failed',
  'source.recovered',
  'source.diverged',
  'certificate.issued',
  'certificate.failed',
  'image.updated',
  'image.policy_failed',
  'lease.acquired',
  'lease.lost',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export interface BerthEvent {
  id: string;
  type: EventType;
  /** ISO 8601. */
  time: string;
  namespace: string;
  app?: string;
  /** One line a person reads. */
  message: string;
  /** What a program reads: image, tag, imageId, commit, durationMs, urls, reason, output, file... */
  details: Record<string, unknown>;
}

/** An event as its emitter gives it; the id, time and namespace are added when it is recorded. */
export type NewEvent = Pick<BerthEvent, 'type' | 'message'> & { app?: string; details?: Record<string, unknown> };

/** Where events go; emitting never waits and never fails. */
export interface EventSink {
  emit(event: NewEvent): void;
  /** A person asked for one more attempt at `app` (`berth retry`): its next start and failure are news, though the revision failed before. */
  retried?(app: string): void;
}
