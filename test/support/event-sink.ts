/**
 * What docs/events-and-notifications.md promises of each event, checked where a test produces it:
 * the event reaches the timeline (`berth events --json`) and a sink (`--notify-exec` appending to a
 * file), the very same event in both, with the fields every event has and the details documented
 * for its type (docs/events-and-notifications.md, "Event types").
 *
 * - `EventFile.create()`: a scratch file; `flags()` are the `berth run` flags that send every
 *   event to it; `read()` the events it got, in order; `remove()`.
 * - `DOCUMENTED`: the details each type documents, by name and JSON type (`?` when optional).
 * - `expectEvents(sink, timeline, type, options)`: waits until the sink got `count` (default 1)
 *   events of `type` (of `app`, matching `where`), then asserts them whole: in the timeline by
 *   the same id and content, with their documented details. Resolves with them.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BerthEvent, EventType } from '../../src/events/types.js';
import { eventually } from './berth-process.js';

type FieldType = 'string' | 'number' | 'boolean' | 'object' | 'array';

/** The details docs/events-and-notifications.md documents for each type; `name?` when it may be absent (`commit` without `--git`). */
export const DOCUMENTED: Record<EventType, Record<string, FieldType>> = {
  'deploy.started': { image: 'string', tag: 'string', revision: 'string', strategy: 'string', 'commit?': 'object' },
  'deploy.succeeded': {
    image: 'string',
    tag: 'string',
    imageId: 'string',
    revision: 'string',
    durationMs: 'number',
    urls: 'array',
    'commit?': 'object',
  },
  'deploy.failed': {
    image: 'string',
    tag: 'string',
    revision: 'string',
    reason: 'string',
    durationMs: 'number',
    'output?': 'string',
    'commit?': 'object',
  },
  'deploy.rolled_back': { revision: 'string', to: 'string', reason: 'string', image: 'string', tag: 'string' },
  'canary.step': { revision: 'string', step: 'number', percent: 'number', reason: 'string', 'numbers?': 'object' },
  'canary.promoted': { revision: 'string', step: 'number', percent: 'number', reason: 'string', 'numbers?': 'object' },
  'canary.aborted': { revision: 'string', step: 'number', percent: 'number', reason: 'string', 'numbers?': 'object' },
  'postdeploy.failed': {
    image: 'string',
    tag: 'string',
    revision: 'string',
    command: 'array',
    reason: 'string',
    'exitCode?': 'number',
    'output?': 'string',
    'commit?': 'object',
  },
  'app.removed': {},
  'app.crash_looping': { revision: 'string', reason: 'string' },
  'drift.repaired': { repaired: 'string' },
  'manifest.invalid': { file: 'string', line: 'number', col: 'number', problem: 'string' },
  'manifest.valid': { file: 'string' },
  'image.updated': {
    image: 'string',
    from: 'string',
    to: 'string',
    policy: 'string',
    proposed: 'boolean',
    'digest?': 'string',
    'file?': 'string',
    'branch?': 'string',
    'commit?': 'string',
  },
  'image.policy_failed': { image: 'string', reason: 'string', tag: 'string', 'to?': 'string' },
  'lease.acquired': { holder: 'string' },
  'lease.lost': { holder: 'string' },
  'engine.lost': { reason: 'string' },
  'engine.back': {},
  'source.failed': { url: 'string', branch: 'string', reason: 'string' },
  'source.recovered': { url: 'string', branch: 'string' },
  'source.diverged': { url: 'string', branch: 'string', from: 'string', to: 'string' },
  'certificate.issued': { domain: 'string', issuer: 'string', notAfter: 'string', renewal: 'boolean' },
  'certificate.failed': { domain: 'string', reason: 'string', renewal: 'boolean' },
};

export class EventFile {
  private constructor(
    private readonly dir: string,
    readonly path: string,
  ) {}

  static async create(): Promise<EventFile> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-events-'));
    return new EventFile(dir, join(dir, 'events.jsonl'));
  }

  /** Flags for `berth run`: every event, as JSON on one line, appended to the file. */
  flags(): string[] {
    return ['--notify-exec', `cat >> ${this.path}`];
  }

  async read(): Promise<BerthEvent[]> {
    const text = await readFile(this.path, 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as BerthEvent);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface ExpectOptions {
  /** The app the event is about; none for host events (engine, source). */
  app?: string;
  namespace: string;
  /** At least this many (default 1); they are the first `count` that match. */
  count?: number;
  where?: (event: BerthEvent) => boolean;
  timeoutMs?: number;
}

/**
 * Waits for `type` at the sink, then checks it against the timeline (`timeline()`: `berth events
 * --json`, newest last) and docs/events-and-notifications.md: the same id, time, message and details in both, the
 * common fields, and every documented detail of its type with its JSON type.
 */
export async function expectEvents(
  sink: EventFile,
  timeline: () => Promise<BerthEvent[]>,
  type: EventType,
  options: ExpectOptions,
): Promise<BerthEvent[]> {
  const count = options.count ?? 1;
  const wanted = (e: BerthEvent) => e.type === type && e.app === options.app && (options.where?.(e) ?? true);
  const sent = await eventually(
    async () => {
      const found = (await sink.read()).filter(wanted);
      return found.length >= count ? found.slice(0, count) : undefined;
    },
    options.timeoutMs ?? 30_000,
    `${count} × ${type}${options.app ? ` of ${options.app}` : ''} at the sink`,
  );
  const kept = await timeline();
  for (const event of sent) {
    assert.deepEqual(
      kept.find((e) => e.id === event.id),
      event,
      `the timeline holds the ${type} the sink got, as it got it`,
    );
    assert.match(event.id, /^[0-9a-f-]{36}$/);
    assert.ok(!Number.isNaN(Date.parse(event.time)), `${type}: time ${event.time}`);
    assert.equal(event.namespace, options.namespace);
    assert.equal(typeof event.message, 'string');
    assert.ok(event.message.length > 0, `${type}: a message`);
    assert.equal(event.app, options.app, `${type}: the app`);
    for (const [documented, kind] of Object.entries(DOCUMENTED[type])) {
      const name = documented.replace(/\?$/, '');
      const value = event.details[name];
      if (value === undefined && documented.endsWith('?')) continue;
      const actual = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
      assert.equal(actual, kind, `${type}: details.${name} is ${JSON.stringify(value)} in ${JSON.stringify(event)}`);
    }
  }
  return sent;
}
