import { strict as assert } from 'node:assert';
import type { HeldSpec } from '../../../../src/reconcile/swarm/actions.js';
import { heldBySwarm, holdLabels, holdToRecord } from '../../../../src/reconcile/swarm/hold.js';
import type { ServiceSummary } from '../../../../src/runtime/services.js';
import { registryApp, revisionOf, serviceOf, specOf, task } from './fixtures.js';

const v1 = registryApp('v1');
const v2 = registryApp('v2');
const spec1 = specOf(v1);
const spec2 = specOf(v2);
const hold: HeldSpec = {
  revision: revisionOf(v2),
  reason: 'task dokku_web.1 ended (failed: task: non-zero exit (1))',
  serviceHash: spec2.labels['berth.service-hash'] ?? '',
  image: spec2.image,
};
/** v1 serving, its own labels plus `extra`, with Swarm's update status `state` and `previous` as its previous spec. */
const service = (
  state: ServiceSummary['update']['state'],
  previous?: typeof spec1,
  extra: Record<string, string | undefined> = {},
): ServiceSummary => {
  const summary = serviceOf(
    spec1,
    { state, message: state === 'rollback_completed' ? 'rollback completed' : '' },
    previous,
  );
  const labels = { ...summary.labels };
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) labels[key] = value;
  return { ...summary, labels };
};

describe('the hold kept in the swarm (hold.ts)', () => {
  const cases: { name: string; service: ServiceSummary; held: Partial<HeldSpec> | undefined }[] = [
    {
      name: 'the hold labels, while Swarm says nothing of an update (as the label write leaves it)',
      service: service('none', spec1, holdLabels(hold)),
      held: { revision: hold.revision, serviceHash: hold.serviceHash, image: hold.image, reason: hold.reason },
    },
    {
      name: 'no hold labels and no rollback: nothing held',
      service: service('completed', spec2),
      held: undefined,
    },
    {
      name: 'stale hold labels a rollback restored with an older spec (Swarm says rollback_*) count for nothing; the spec it left is held',
      service: service('rollback_completed', spec2, holdLabels({ ...hold, revision: 'older@sha256:0' })),
      held: { revision: revisionOf(v2), serviceHash: hold.serviceHash, image: spec2.image },
    },
    {
      name: "a rollback someone asked for (berth's, or docker service rollback) holds the spec it left, while Swarm keeps it",
      service: service('rollback_started', spec2),
      held: { revision: revisionOf(v2), reason: 'Swarm rolled it back (rollback started)' },
    },
    {
      name: 'a rollback Swarm decided itself forgets the spec it left: only berth knows that hold until it labels the service',
      service: service('rollback_completed'),
      held: undefined,
    },
  ];
  for (const c of cases)
    it(`heldBySwarm: ${c.name}`, () => {
      const held = heldBySwarm(c.service);
      if (c.held === undefined) assert.equal(held, undefined);
      else for (const [key, value] of Object.entries(c.held)) assert.equal(held?.[key as keyof HeldSpec], value, key);
    });

  it('heldBySwarm: after a rollback Swarm decided itself, the newest task of another spec is the revision rolled back (a berth that never saw the update finds it)', () => {
    const v0 = registryApp('v0');
    const spec0 = specOf(v0);
    const failed = (spec: typeof spec1, slot: number, createdAt: number) => ({
      ...task(spec, slot, 'failed'),
      id: `${spec.labels['berth.spec-hash']}-${slot}`,
      desiredState: 'shutdown',
      image: spec.image,
      createdAt,
    });
    const history = [
      failed(spec0, 1, 1_000), // an older revision, shut down when v1 rolled out
      { ...task(spec1, 1), createdAt: 5_000 }, // v1 again, after the rollback
      failed(spec2, 1, 3_000),
      failed(spec2, 2, 3_500),
    ];
    const held = heldBySwarm(service('rollback_completed'), history);
    assert.equal(held?.revision, revisionOf(v2));
    assert.equal(held?.image, spec2.image);
    assert.match(held?.reason ?? '', /^Swarm rolled it back \(rollback completed\)$/);
    assert.equal(heldBySwarm(service('completed'), history), undefined, 'no rollback: the history holds nothing');
    assert.equal(
      heldBySwarm(service('rollback_completed'), [{ ...task(spec1, 1), createdAt: 5_000 }]),
      undefined,
      'only the serving spec in the history: nothing to hold',
    );
  });

  it('holdToRecord: writes the hold once Swarm is done (rolled back, or updated by someone, or idle), never during a rollout or rollback, and not again', () => {
    const table: [ServiceSummary, boolean][] = [
      [service('rollback_completed', spec2), true],
      [service('completed', spec2), true],
      [service('none', spec1), true],
      [service('rollback_started', spec2), false],
      [service('rollback_paused', spec2), false],
      [service('paused', spec2), false],
      [service('updating', spec2), false],
      [service('none', spec1, holdLabels(hold)), false],
      [service('none', spec1, holdLabels({ ...hold, serviceHash: 'other' })), true],
    ];
    for (const [summary, expected] of table)
      assert.equal(holdToRecord(summary, hold), expected, `${summary.update.state} ${JSON.stringify(summary.labels)}`);
  });

  it('holdLabels: one line of reason, cut to 500 characters; a missing field removes an earlier label', () => {
    const labels = holdLabels({ revision: 'r@sha256:1', reason: `line one\nline two ${'x'.repeat(600)}` });
    assert.equal(labels['berth.held-revision'], 'r@sha256:1');
    assert.match(labels['berth.held-reason'] ?? '', /^line one line two x+\.\.\.$/);
    assert.equal(labels['berth.held-reason']?.length, 503);
    assert.ok('berth.held-service-hash' in labels && labels['berth.held-service-hash'] === undefined);
  });
});
