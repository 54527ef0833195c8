/**
 * `--listen` as an attacker meets it, with berth run as users run it on the real engine: a web
 * page that rebinds its own name to berth's address (a request whose Host is not berth's), many
 * connections that send half a header and stall, one client's burst of requests, and a crowd of
 * page and API readers. The page, /api and /metrics answer only berth's own names (/hooks/git is
 * left to its signature); stalled connections are let go after the header timeout while others
 * are answered; a burst gets 429; and no page or API request makes an engine call: berth's own
 * engine socket is a counting pass-through (test/support/counting-engine.ts).
 *
 * The budget is per client address, so each test speaks from its own loopback address
 * (127.0.0.N, all of them loopback on Linux).
 */
import { strict as assert } from 'node:assert';
import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { eventually, type BerthProcess } from '../../support/berth-process.js';
import { CountingEngine } from '../../support/counting-engine.js';
import { buildTestImage, dockerCli } from '../../support/docker.js';
import { freePort } from '../../support/nginx.js';
import { Scenario } from '../../support/scenario.js';

/** Requests a minute per client address berth is started with. */
const RATE = 100;
const MAX_CONNECTIONS = 220;
const SLOW_CONNECTIONS = 200;

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

interface ApiApp {
  app: string;
  phase: string;
  running: { tag: string | null; containers: { id: string; state: string }[] };
  conditions: { type: string; status: string }[];
}

describe('--listen under attack: foreign Host, stalled connections, bursts, and no engine call per request (real engine)', function () {
  this.timeout(120_000);
  let world: Scenario;
  let berth: BerthProcess;
  let engine: CountingEngine;
  let port: number;

  /** One request from 127.0.0.<from>, with `host` as its Host header (default berth's own address). */
  const send = (path: string, from: number, options: { host?: string; method?: string } = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path,
          method: options.method ?? 'GET',
          localAddress: `127.0.0.${from}`,
          headers: { host: options.host ?? `127.0.0.1:${port}` },
          agent: false,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          res.on('error', reject);
        },
      );
      req.setTimeout(10_000, () => req.destroy(new Error(`${path}: no answer within 10 s`)));
      req.on('error', reject);
      req.end();
    });
  /** The first frame /events pushes, then the stream is dropped. */
  const firstFrame = (from: number) =>
    new Promise<string>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/events', localAddress: `127.0.0.${from}`, agent: false },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => {
            text += chunk;
            const start = text.indexOf('event: live');
            if (start >= 0 && text.indexOf('\n\n', start) > 0) {
              req.destroy();
              resolve(text.slice(start));
            }
          });
        },
      );
      req.on('error', (error) => (error.message === 'socket hang up' ? undefined : reject(error)));
      req.end();
    });
  const refusals = async (reason: string, from: number) =>
    Number(
      new RegExp(`^berth_http_refused_total\\{reason="${reason}"\\} (\\S+)$`, 'm').exec(
        (await send('/metrics', from)).body,
      )?.[1],
    );
  /**
   * `count` raw connections from 127.0.0.<from>, each writing `text` and then nothing more; each
   * resolves, once the server closes it, with what it was sent (empty for one closed unanswered).
   */
  const stalled = async (count: number, from: number, text: string) => {
    const opened = Array.from({ length: count }, () => {
      const socket = connect({ host: '127.0.0.1', port, localAddress: `127.0.0.${from}` });
      let received = '';
      socket.setEncoding('latin1').on('data', (chunk: string) => (received += chunk));
      const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(received)));
      socket.on('error', () => undefined);
      const connected = new Promise<void>((resolve) =>
        socket.once('connect', () => (text === '' ? resolve() : socket.write(text, () => resolve()))),
      );
      return { socket, connected: Promise.race([connected, closed.then(() => undefined)]), closed };
    });
    await Promise.all(opened.map((o) => o.connected));
    return opened;
  };

  before(async () => {
    world = await Scenario.create();
    await buildTestImage(`${world.namespace}/web`, 'v1');
    await world.writeManifest('web', { tag: 'v1' });
    engine = await CountingEngine.start(world.root);
    port = await freePort();
    berth = world.start(
      [
        '--listen',
        `127.0.0.1:${port}`,
        '--listen-host',
        'berth.test',
        '--listen-rate',
        String(RATE),
        '--listen-max-connections',
        String(MAX_CONNECTIONS),
        '--listen-header-timeout',
        '1',
        '--listen-request-timeout',
        '2',
      ],
      { DOCKER_HOST: engine.host },
    );
    await berth.waitForLog((l) => l.step === 'deployed' && l.app === 'web', 60_000);
  });
  after(async () => {
    await world.cleanup();
    await engine?.close();
  });

  it('refuses a foreign Host on the page, /api and /metrics with a one-line 421; answers its own names; leaves /hooks/git to its signature', async () => {
    const refusedBefore = await refusals('host', 11);
    for (const path of ['/', '/api/apps', '/metrics']) {
      const evil = await send(path, 11, { host: `evil.example:${port}` });
      assert.equal(evil.status, 421, path);
      assert.equal(
        evil.body,
        `misdirected request: Host "evil.example:${port}" is not a name of this server (add one with --listen-host NAME)\n`,
      );
      assert.ok(!evil.body.includes('web'), 'nothing of the apps in the refusal');
      for (const host of [`127.0.0.1:${port}`, '127.0.0.1', `localhost:${port}`, `berth.test:${port}`])
        assert.equal((await send(path, 11, { host })).status, 200, `${path} with Host ${host}`);
    }
    assert.equal((await send('/api/events', 11, { host: 'evil.example' })).status, 421);
    assert.equal(await refusals('host', 11), refusedBefore + 4);
    const line = await berth.waitForLog((l) => l.source === 'http' && l.level === 40);
    assert.match(line.msg, /refused a request for Host "evil\.example:\d+" \(not a name of --listen/);

    const hook = await send('/hooks/git', 11, { host: 'evil.example', method: 'POST' });
    assert.notEqual(hook.status, 421, '/hooks/git is not refused for its Host');
    assert.equal(hook.status, 404, 'no git source: no webhook');
    assert.equal((await send('/healthz', 11, { host: 'evil.example' })).status, 200, 'probes send any Host');
  });

  it('serves the page and the API from what the controller saw: no engine call per request', async () => {
    // Whatever berth was still doing (the deploy's retirement, its watch) is done first.
    await engine.quiet(1_500, 60_000);
    const before = engine.requests.length;
    for (let round = 0; round < 5; round++) {
      for (const path of ['/', '/api/apps', '/api/apps/web', '/api/events', '/metrics'])
        assert.equal((await send(path, 12)).status, 200, path);
      assert.match(await firstFrame(12), /data-app="web"/);
    }
    const web = JSON.parse((await send('/api/apps/web', 12)).body) as ApiApp;
    assert.deepEqual(engine.requests.slice(before), [], 'no engine call for 31 page, API, feed and metrics requests');

    assert.equal(web.phase, 'Running');
    assert.equal(web.running.tag, 'v1');
    const running = await world.running('web');
    assert.deepEqual(
      web.running.containers.map((c) => `${c.id} ${c.state}`),
      running.map((c) => `${c.id.slice(0, 12)} running`),
      'the containers the engine runs',
    );
    assert.deepEqual(
      web.conditions.map((c) => `${c.type}=${c.status}`),
      ['Available=True', 'Progressing=False', 'UpToDate=True'],
    );
  });

  it("follows what others do to the containers through the engine's events, not through requests", async () => {
    const [old] = await world.running('web');
    await dockerCli(['rm', '-f', old!.id]);
    const replaced = await eventually(
      async () => {
        const web = JSON.parse((await send('/api/apps/web', 13)).body) as ApiApp;
        const ids = web.running.containers.map((c) => c.id);
        return web.phase === 'Running' && ids.length === 1 && ids[0] !== old!.id.slice(0, 12) && web;
      },
      60_000,
      'web shown on its replacement container',
      500,
    );
    const [now] = await world.running('web');
    assert.equal(replaced.running.containers[0]?.id, now!.id.slice(0, 12));
  });

  it(`answers a normal request while ${SLOW_CONNECTIONS} connections stall mid-header, and lets them go after the header timeout (408)`, async () => {
    const slow = await stalled(SLOW_CONNECTIONS, 14, `GET /api/apps HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `);
    const normal = await send('/api/apps', 15);
    assert.equal(normal.status, 200);
    assert.deepEqual(
      (JSON.parse(normal.body) as ApiApp[]).map((a) => a.app),
      ['web'],
    );
    const received = await Promise.all(slow.map((s) => s.closed));
    assert.deepEqual(
      [...new Set(received.map((r) => r.split('\r\n')[0]))],
      ['HTTP/1.1 408 Request Timeout'],
      'each closed by berth with a 408',
    );
  });

  it(`closes connections beyond --listen-max-connections at once, counts them, and serves again once the stalled ones are let go`, async () => {
    const droppedBefore = await refusals('connections', 16);
    const idle = await stalled(MAX_CONNECTIONS + 20, 16, '');
    const received = await Promise.all(idle.map((s) => s.closed));
    const unanswered = received.filter((r) => r === '').length;
    assert.ok(unanswered >= 20, `at least 20 closed unanswered, got ${unanswered}`);
    assert.ok(
      received.filter((r) => r.startsWith('HTTP/1.1 408')).length + unanswered === received.length,
      'the rest timed out (408)',
    );
    assert.ok(
      (await refusals('connections', 16)) - droppedBefore >= 20,
      'berth_http_refused_total{reason="connections"} counts them',
    );
    assert.equal((await send('/api/apps', 16)).status, 200);
  });

  it(`gives one client ${RATE} requests, then 429 with Retry-After; other clients and the probes are unaffected`, async () => {
    const statuses: number[] = [];
    let refused: Answer | undefined;
    for (let i = 0; i < RATE + 50; i++) {
      const answer = await send('/api/apps', 17);
      statuses.push(answer.status);
      if (answer.status === 429) refused ??= answer;
    }
    assert.deepEqual(statuses.slice(0, RATE), Array<number>(RATE).fill(200), 'the burst allowance');
    assert.ok(refused, `a 429 after ${RATE} requests: ${statuses.slice(RATE).join(' ')}`);
    assert.ok(Number(refused.headers['retry-after']) >= 1, `Retry-After: ${String(refused.headers['retry-after'])}`);
    assert.match(
      refused.body,
      new RegExp(`^too many requests from this address \\(more than ${RATE} a minute\\); retry in \\d+ s\\n$`),
    );
    assert.equal((await send('/healthz', 17)).status, 200);
    assert.equal((await send('/api/apps', 18)).status, 200, 'another address has its own budget');
    assert.ok((await refusals('rate', 18)) >= 1);
  });

  it('stops cleanly, leaving nothing listening', async () => {
    assert.equal(await berth.stop(), 0);
    await assert.rejects(send('/healthz', 19), /ECONNREFUSED/);
  });
});
