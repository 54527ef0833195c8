import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateRecord } from '../../../src/state/types.js';
import { AcmeStore } from '../../../src/tls/acme-store.js';
import { CertificateManager } from '../../../src/tls/certificate-manager.js';
import { AcmeError } from '../../../src/tls/errors.js';
import { silentLogger } from '../../../src/util/silent-logger.js';
import { FakeClock } from '../../support/fake-clock.js';

describe('CertificateManager (a CA that fails, an in-memory clock)', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'berth-tls-unit-'));
  });
  afterEach(() => rm(stateDir, { recursive: true, force: true }));

  function managerWith(failure: AcmeError, served: Set<string>) {
    const clock = new FakeClock();
    const orders: string[] = [];
    const reports: CertificateRecord[][] = [];
    let changes = 0;
    const manager = new CertificateManager({
      clock,
      logger: silentLogger(),
      store: new AcmeStore(stateDir, 'dokku'),
      issuer: {
        issue: async (domain) => {
          orders.push(domain);
          throw failure;
        },
      },
      wanted: () => new Map([['web.example.test', 'web']]),
      isServed: async (app) => served.has(app),
      onChange: () => changes++,
      report: (records) => reports.push(records),
    });
    return { clock, manager, orders, reports, changes: () => changes };
  }

  it('orders nothing before the app is served, then retries an unreachable CA at 5 s, 10 s, ... and reports why', async () => {
    const served = new Set<string>();
    const { clock, manager, orders, reports, changes } = managerWith(
      new AcmeError('cannot reach the ACME directory https://ca.test/dir: ECONNREFUSED', { reachable: false }),
      served,
    );
    await manager.load();
    manager.start();
    await clock.advance(3_000);
    assert.deepEqual(orders, [], 'the plain listener must answer the challenge first');
    assert.equal(reports.at(-1)?.[0]?.state, 'pending');
    served.add('web');
    await clock.advance(1_000);
    assert.equal(orders.length, 1);
    const failed = reports.at(-1)?.[0];
    assert.equal(failed?.state, 'failed');
    assert.equal(failed?.error, 'cannot reach the ACME directory https://ca.test/dir: ECONNREFUSED');
    assert.equal(failed?.nextAttempt, clock.now() + 5_000);
    await clock.advance(4_000);
    assert.equal(orders.length, 1, 'not before the backoff');
    await clock.advance(1_000);
    assert.equal(orders.length, 2);
    await clock.advance(10_000);
    assert.equal(orders.length, 3, 'then 10 s later');
    assert.equal(
      manager.certificateFor('web.example.test'),
      undefined,
      'nothing to serve: the domain stays on plain HTTP',
    );
    assert.equal(changes(), 0, 'the proxy is not rewritten for a failure');
    await manager.stop();
  });

  it("waits out a refusing CA's Retry-After", async () => {
    const { clock, manager, orders } = managerWith(
      new AcmeError('web.example.test: too many failed authorizations', { reachable: true, retryAfterSeconds: 3_600 }),
      new Set(['web']),
    );
    await manager.load();
    manager.start();
    await clock.advance(1_000);
    await clock.advance(3_598_000);
    assert.equal(orders.length, 1);
    await clock.advance(2_000);
    assert.equal(orders.length, 2);
    await manager.stop();
  });
});
