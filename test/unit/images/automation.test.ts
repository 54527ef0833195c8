import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewEvent } from '../../../src/events/types.js';
import { ImageAutomation, MIN_WAKE_GAP_MS, type TagMove, type WrittenMove } from '../../../src/images/automation.js';
import { RegistryError } from '../../../src/images/registry-client.js';
import type { App, ImagePolicy } from '../../../src/manifest/types.js';
import { StateStore } from '../../../src/state/store.js';
import { silentLogger } from '../../../src/util/silent-logger.js';
import { testApp } from '../../support/apps.js';
import { FakeClock } from '../../support/fake-clock.js';

/**
 * The automation loop with berth's own interfaces faked (tags, writer) and a real state store: one
 * look per repository however many apps follow it, a failing registry said once and honoured
 * (Retry-After), a webhook wakes a repository by its path.
 */
describe('image automation (ImageAutomation) over fake tag sources', () => {
  let dir: string;
  let state: StateStore;
  let clock: FakeClock;
  let apps: App[];
  let registryTags: Map<string, string[] | Error>;
  let looks: string[];
  let moves: TagMove[];
  let events: NewEvent[];
  let automation: ImageAutomation;

  const policy = (interval = 300, extra: Partial<ImagePolicy> = {}): ImagePolicy =>
    ({ semver: '^1', interval, minAge: 0, ...extra }) as ImagePolicy;
  const follower = (name: string, image: string, tag: string, interval = 300) =>
    testApp(name, { image, tag, imagePolicy: policy(interval) });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-images-'));
    state = await StateStore.open(dir, 'test');
    clock = new FakeClock(1_000_000);
    registryTags = new Map();
    looks = [];
    moves = [];
    events = [];
    apps = [];
    automation = new ImageAutomation({
      clock,
      logger: silentLogger(),
      state,
      events: { emit: (event) => void events.push(event) },
      apps: () => apps,
      tags: {
        registry: async (repository) => {
          looks.push(repository);
          const tags = registryTags.get(repository);
          if (tags instanceof Error) throw tags;
          return tags ?? [];
        },
        engine: async () => [],
        digest: async () => undefined,
      },
      writer: {
        write: async (move): Promise<WrittenMove> => {
          moves.push(move);
          return { kind: 'file', file: move.app.source.file };
        },
      },
    });
    for (const app of ['web', 'api']) state.update(app, { phase: 'Running', message: '' }, clock.now());
  });
  afterEach(async () => {
    await automation.stop();
    await state.flush();
    state.close();
    await rm(dir, { recursive: true, force: true });
  });
  const settle = () => clock.advance(0);

  it('looks once per repository for every app following it, and writes each app its newer tag', async () => {
    apps = [follower('web', 'reg.test/team/shop', '1.0.0'), follower('api', 'reg.test/team/shop', '1.1.0')];
    registryTags.set('reg.test/team/shop', ['1.0.0', '1.1.0', '1.2.0', '2.0.0']);
    automation.start();
    await settle();
    assert.deepEqual(looks, ['reg.test/team/shop']);
    assert.deepEqual(
      moves.map((m) => `${m.app.name} ${m.from}->${m.to} (${m.policy})`),
      ['web 1.0.0->1.2.0 (semver ^1)', 'api 1.1.0->1.2.0 (semver ^1)'],
    );
    assert.deepEqual(
      events.map((e) => [e.type, e.app, e.details?.from, e.details?.to]),
      [
        ['image.updated', 'web', '1.0.0', '1.2.0'],
        ['image.updated', 'api', '1.1.0', '1.2.0'],
      ],
    );
    assert.equal(state.get('web')?.imagePolicy?.written?.to, '1.2.0');
    // The next look comes at the interval, not before.
    await clock.advance(299_000);
    assert.equal(looks.length, 1);
    await clock.advance(2_000);
    assert.equal(looks.length, 2);
  });

  it('a failing registry changes no tag, is said once per failure in a row, and its Retry-After is honoured', async () => {
    apps = [follower('web', 'reg.test/team/web', '1.0.0', 5)];
    registryTags.set(
      'reg.test/team/web',
      new RegistryError(
        'rate-limited',
        'reg.test',
        'team/web',
        'reg.test answered 429 for team/web: retry after 60s',
        60_000,
      ),
    );
    automation.start();
    await settle();
    assert.equal(moves.length, 0);
    assert.match(state.get('web')?.imagePolicy?.error ?? '', /429/);
    await clock.advance(30_000);
    assert.equal(looks.length, 1, 'no look within the Retry-After, though the interval is 5 s');
    await clock.advance(31_000);
    assert.equal(looks.length, 2);
    assert.deepEqual(
      events.map((e) => e.type),
      ['image.policy_failed'],
      'the same failure again is not said again',
    );
    registryTags.set('reg.test/team/web', ['1.0.0', '1.0.1']);
    await clock.advance(60_000);
    assert.deepEqual(
      moves.map((m) => m.to),
      ['1.0.1'],
    );
    assert.equal(state.get('web')?.imagePolicy?.error, undefined, 'the error is gone once a look succeeds');
  });

  it('a tag held back by minAge is adopted when it comes of age, not at the next interval', async () => {
    apps = [testApp('web', { image: 'reg.test/team/web', tag: '1.0.0', imagePolicy: policy(3600, { minAge: 600 }) })];
    registryTags.set('reg.test/team/web', ['1.0.0', '1.0.1']);
    automation.start();
    await settle();
    assert.equal(moves.length, 0);
    assert.match(state.get('web')?.imagePolicy?.waiting ?? '', /1\.0\.1 matures at/);
    await clock.advance(599_000);
    assert.equal(moves.length, 0);
    await clock.advance(2_000);
    assert.deepEqual(
      moves.map((m) => m.to),
      ['1.0.1'],
    );
    assert.equal(looks.length, 2, 'one look at the first sight, one as the tag came of age');
  });

  it("a repository only the engine has (the registry says not found) follows the engine's tags", async () => {
    apps = [follower('web', 'team/local', '1.0.0')];
    registryTags.set('team/local', new RegistryError('not-found', 'docker.io', 'team/local', 'not found'));
    const automationWithEngine = new ImageAutomation({
      clock,
      logger: silentLogger(),
      state,
      events: { emit: (event) => void events.push(event) },
      apps: () => apps,
      tags: {
        registry: async () => {
          throw registryTags.get('team/local');
        },
        engine: async () => ['1.0.0', '1.3.0'],
        digest: async () => undefined,
      },
      writer: { write: async (move) => (moves.push(move), { kind: 'file', file: move.app.source.file }) },
    });
    automationWithEngine.start();
    await settle();
    await automationWithEngine.stop();
    assert.deepEqual(
      moves.map((m) => m.to),
      ['1.3.0'],
    );
  });

  it('a webhook wakes the followed repositories of the pushed path, whatever registry host it names', async () => {
    apps = [follower('web', '127.0.0.1:5000/team/web', '1.0.0', 3600)];
    registryTags.set('127.0.0.1:5000/team/web', ['1.0.0']);
    automation.start();
    await settle();
    assert.equal(looks.length, 1);
    registryTags.set('127.0.0.1:5000/team/web', ['1.0.0', '1.0.1']);
    assert.deepEqual(automation.wake('team/other'), []);
    assert.deepEqual(automation.wake('localhost:5000/team/web'), ['127.0.0.1:5000/team/web']);
    // A wake comes at once, but never sooner than MIN_WAKE_GAP_MS after the last look began.
    await clock.advance(MIN_WAKE_GAP_MS - 1);
    assert.equal(looks.length, 1);
    await clock.advance(1);
    assert.equal(looks.length, 2);
    assert.deepEqual(
      moves.map((m) => m.to),
      ['1.0.1'],
    );
  });

  it('never revives the record of an app whose manifest went', async () => {
    apps = [follower('gone', 'reg.test/team/gone', '1.0.0')];
    registryTags.set('reg.test/team/gone', ['1.0.0']);
    let listed = 0;
    const remove = () => {
      listed++;
      return listed > 1 ? [] : apps;
    };
    const racing = new ImageAutomation({
      clock,
      logger: silentLogger(),
      state,
      events: { emit: () => undefined },
      apps: remove,
      tags: { registry: async () => ['1.0.0'], engine: async () => [], digest: async () => undefined },
      writer: { write: async (move) => ({ kind: 'file', file: move.app.source.file }) },
    });
    racing.start();
    await settle();
    await racing.stop();
    assert.equal(state.get('gone'), undefined);
  });
});
