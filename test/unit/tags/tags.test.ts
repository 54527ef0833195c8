import { strict as assert } from 'node:assert';
import { containerSpecFor } from '../../../src/reconcile/docker/container-spec.js';
import type { AppRecord } from '../../../src/state/types.js';
import { createTag } from '../../../src/tags/create.js';
import { destroyTag } from '../../../src/tags/destroy.js';
import { TagCommandError } from '../../../src/tags/errors.js';
import { listTags } from '../../../src/tags/list.js';
import { EngineError } from '../../../src/runtime/errors.js';
import type { ServiceRuntime } from '../../../src/runtime/services.js';
import { revisionOf, testApp } from '../../support/apps.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

describe('tags commands (in-memory runtime)', () => {
  let runtime: FakeRuntime;
  let v1: string;
  let v2: string;
  const record = (patch: Partial<AppRecord> = {}): AppRecord => ({
    phase: 'Running',
    message: '',
    since: 0,
    history: [],
    desiredTag: 'v2',
    servingTag: 'v2',
    ...patch,
  });
  const refused = (pattern: RegExp) => (error: unknown) =>
    error instanceof TagCommandError && pattern.test(error.message);

  beforeEach(async () => {
    runtime = new FakeRuntime(new FakeClock());
    v1 = runtime.addImage('dokku/web:v1');
    v2 = runtime.addImage('dokku/web:v2');
    await runtime.tagImage(v2, 'dokku/web', 'latest');
    const app = testApp('web', { tag: 'v2' });
    const id = await runtime.createContainer(containerSpecFor('dokku', app, revisionOf(app, v2), 0));
    await runtime.startContainer(id);
  });

  it('tags lists the repository and marks the tag that runs', async () => {
    const rows = await listTags(runtime, 'dokku', 'web', record({ servingImageId: v2 }));
    assert.deepEqual(rows.map((r) => [r.tag, r.imageId === v2, r.running]).sort(), [
      ['latest', true, false],
      ['v1', false, false],
      ['v2', true, true],
    ]);
    const withoutState = await listTags(runtime, 'dokku', 'web', undefined);
    assert.deepEqual(
      withoutState
        .filter((r) => r.running)
        .map((r) => r.tag)
        .sort(),
      ['latest', 'v2'],
      'without state: every tag of the running image',
    );
  });

  it('tags:create tags the running image (not latest), refuses reserved and invalid names, moves a tag only with force', async () => {
    await runtime.tagImage(v1, 'dokku/web', 'latest');
    const created = await createTag(runtime, {
      namespace: 'dokku',
      app: 'web',
      tag: 'release-1',
      record: undefined,
      force: false,
    });
    assert.equal(runtime.tags.get('dokku/web:release-1'), v2, 'the image that runs, though latest points elsewhere');
    assert.equal(created.unchanged, false);
    assert.equal(
      (await createTag(runtime, { namespace: 'dokku', app: 'web', tag: 'release-1', record: undefined, force: false }))
        .unchanged,
      true,
    );
    await assert.rejects(
      createTag(runtime, { namespace: 'dokku', app: 'web', tag: 'v1', record: undefined, force: false }),
      refused(/already exists on image .*--force/),
    );
    await createTag(runtime, { namespace: 'dokku', app: 'web', tag: 'v1', record: undefined, force: true });
    assert.equal(runtime.tags.get('dokku/web:v1'), v2);
    await assert.rejects(
      createTag(runtime, { namespace: 'dokku', app: 'web', tag: 'latest', record: undefined, force: true }),
      refused(/moved by berth/),
    );
    await assert.rejects(
      createTag(runtime, { namespace: 'dokku', app: 'web', tag: 'v 1;', record: undefined, force: false }),
      refused(/not a valid Docker tag/),
    );
    await assert.rejects(
      createTag(runtime, { namespace: 'dokku', app: 'api', tag: 'x', record: undefined, force: false }),
      refused(/api runs no container/),
    );
  });

  it('on a swarm manager with no task of the app here, tags:create and tags go by the image the service pins', async () => {
    const digest = `sha256:${'d'.repeat(64)}`;
    const pinned = `127.0.0.1:5000/team/api:v3@${digest}`;
    const service = {
      id: 's1',
      name: 'dokku_api',
      app: 'api',
      version: 1,
      specHash: 'h',
      serviceHash: 'h',
      image: pinned,
      replicas: 2,
      update: { state: 'completed' as const, message: '' },
    };
    const manager = {
      swarm: async () => ({ nodeId: 'n1', managers: 1, nodes: 2 }),
      listServices: async (_ns: string, app?: string) => (app === 'api' ? [service] : []),
    } as unknown as ServiceRuntime;
    const create = (tag: string) =>
      createTag(runtime, { namespace: 'dokku', app: 'api', tag, record: undefined, force: false, services: manager });
    await assert.rejects(
      create('release-1'),
      refused(
        new RegExp(
          `api runs on Swarm as ${pinned.replace(/[.]/g, '\\.')}, and this host has no copy of that image: docker pull `,
        ),
      ),
    );
    const api = runtime.addImage(`127.0.0.1:5000/team/api@${digest}`);
    await create('release-1');
    assert.equal(runtime.tags.get('dokku/api:release-1'), api);
    const rows = await listTags(runtime, 'dokku', 'api', record({ servingTag: 'v3' }), manager);
    assert.deepEqual(
      rows.map((r) => [r.tag, r.running]),
      [['release-1', true]],
      'no servingTag of this repository: every tag of the served image is running',
    );

    const noSwarm = {
      swarm: async () => {
        throw new EngineError('swarm', 'this engine is no swarm manager');
      },
    } as unknown as ServiceRuntime;
    await assert.rejects(
      createTag(runtime, {
        namespace: 'dokku',
        app: 'api',
        tag: 'x',
        record: undefined,
        force: false,
        services: noSwarm,
      }),
      refused(/api runs no container/),
    );
  });

  it('tags:destroy removes a tag; refuses latest, the pinned tag and the tag that runs', async () => {
    await runtime.tagImage(v2, 'dokku/web', 'release-1');
    await assert.rejects(
      destroyTag(runtime, { namespace: 'dokku', app: 'web', tag: 'latest', record: record() }),
      refused(/latest/),
    );
    await assert.rejects(
      destroyTag(runtime, { namespace: 'dokku', app: 'web', tag: 'v2', record: record({ desiredTag: 'v3' }) }),
      refused(/web runs it now/),
    );
    await assert.rejects(
      destroyTag(runtime, { namespace: 'dokku', app: 'web', tag: 'v1', record: record({ desiredTag: 'v1' }) }),
      refused(/manifest of web pins it/),
    );
    await assert.rejects(
      destroyTag(runtime, { namespace: 'dokku', app: 'web', tag: 'release-1', record: undefined }),
      refused(/runs it now/),
      'without state every tag of the running image is kept',
    );
    await assert.rejects(
      destroyTag(runtime, { namespace: 'dokku', app: 'web', tag: 'nope', record: record() }),
      refused(/no tag dokku\/web:nope/),
    );

    await destroyTag(runtime, { namespace: 'dokku', app: 'web', tag: 'release-1', record: record() });
    await destroyTag(runtime, { namespace: 'dokku', app: 'web', tag: 'v1', record: record() });
    assert.equal(runtime.tags.has('dokku/web:release-1'), false);
    assert.equal(runtime.tags.has('dokku/web:v1'), false);
    assert.equal(runtime.tags.get('dokku/web:v2'), v2);
  });
});
