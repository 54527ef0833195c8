/**
 * Notifications from a real berth to real receivers on loopback: a signed JSON webhook, a chat
 * webhook filtered to failures, and a command; a receiver that fails, then hangs, never slows a
 * deploy, and each event arrives once when it answers again.
 */
import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
import { readFile, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rm as remove } from 'node:fs/promises';
import { eventually, type BerthProcess } from '../../support/berth-process.js';
import { buildTestImage } from '../../support/docker.js';
import { Scenario } from '../../support/scenario.js';

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('berth run --notify (a real receiver on loopback)', function () {
  this.timeout(120_000);
  let world: Scenario;
  let server: Server;
  let port: number;
  let scratch: string;
  let berth: BerthProcess;
  let mode: 'ok' | 'fail' | 'hang' = 'ok';
  const received: Received[] = [];
  const hanging: (() => void)[] = [];
  const SECRET = 'notify-secret';

  const hooks = () =>
    received
      .filter((r) => r.path === '/hook')
      .map(
        (r) =>
          JSON.parse(r.body) as {
            id: string;
            type: string;
            app?: string;
            message: string;
            details: Record<string, unknown>;
          },
      );
  const chat = () =>
    received.filter((r) => r.path === '/chat').map((r) => (JSON.parse(r.body) as { text: string }).text);
  const spec = (tag: string) => ({
    tag,
    checks: { http: [{ path: '/health', content: 'ok', wait: 0, attempts: 3, timeout: 1 }] },
  });

  before(async () => {
    world = await Scenario.create();
    scratch = await mkdtemp(join(tmpdir(), 'berth-notify-'));
    await writeFile(join(scratch, 'secret'), SECRET, { mode: 0o600 });
    for (const tag of ['v1', 'v2', 'v3']) await buildTestImage(`${world.namespace}/web`, tag, { body: tag });
    await buildTestImage(`${world.namespace}/web`, 'bad', { extraFiles: { health: 'not yet' } });
    server = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        if (mode === 'hang') {
          hanging.push(() => response.destroy());
          return;
        }
        if (mode === 'fail') {
          response.writeHead(500).end();
          return;
        }
        received.push({ path: request.url ?? '', headers: request.headers, body });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
    await world.writeManifest('web', spec('v1'));
    berth = world.start([
      '--notify',
      `http://127.0.0.1:${port}/hook`,
      '--notify',
      `slack+http://127.0.0.1:${port}/chat#events=deploy.failed,deploy.rolled_back`,
      '--notify-secret-file',
      join(scratch, 'secret'),
      '--notify-exec',
      `sleep 2; cat >> ${join(scratch, 'exec.jsonl')}`,
      '--public-url',
      'https://berth.example.test',
    ]);
  });
  after(async () => {
    for (const cut of hanging) cut();
    await world.cleanup();
    await new Promise((resolve) => server.close(resolve));
    await rm(scratch, { recursive: true, force: true });
  });

  it('posts each deploy signed, with what a receiver needs; the command gets it on stdin, without slowing the deploy', async () => {
    const started = Date.now();
    await eventually(
      async () => (await world.status()).find((a) => a.app === 'web' && a.phase === 'Running'),
      30_000,
      'v1 Running',
    );
    const deployedIn = Date.now() - started;
    const succeeded = await eventually(
      async () => hooks().find((e) => e.type === 'deploy.succeeded'),
      15_000,
      'deploy.succeeded posted',
    );
    assert.deepEqual(
      [succeeded.app, succeeded.details.tag, succeeded.details.image],
      ['web', 'v1', `${world.namespace}/web`],
    );
    assert.match(String(succeeded.details.imageId), /^sha256:[0-9a-f]{64}$/);
    assert.ok(typeof succeeded.details.durationMs === 'number' && Array.isArray(succeeded.details.urls));
    assert.deepEqual(
      hooks()
        .map((e) => e.type)
        .slice(0, 2),
      ['deploy.started', 'deploy.succeeded'],
    );
    const request = received.find((r) => r.path === '/hook' && JSON.parse(r.body).type === 'deploy.succeeded')!;
    const timestamp = String(request.headers['x-berth-timestamp']);
    assert.equal(
      request.headers['x-berth-signature'],
      `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${request.body}`).digest('hex')}`,
    );
    assert.ok(Math.abs(Number(timestamp) * 1000 - Date.now()) < 60_000, 'a fresh timestamp, for refusing replays');
    assert.equal(request.headers['x-berth-event'], 'deploy.succeeded');
    assert.deepEqual(chat(), [], 'the chat sink wants failures only');
    const lines = await eventually(
      async () => {
        const text = await readFile(join(scratch, 'exec.jsonl'), 'utf8').catch(() => '');
        const events = text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { type: string });
        return events.some((e) => e.type === 'deploy.succeeded') ? events : undefined;
      },
      20_000,
      'the command to get the event',
    );
    assert.deepEqual(lines.map((e) => e.type).slice(0, 2), ['deploy.started', 'deploy.succeeded']);
    assert.ok(deployedIn < 15_000, `the deploy took ${deployedIn} ms`);
  });

  it('says a failing deploy once, though berth retries it with backoff; the chat gets a readable line', async () => {
    await world.writeManifest('web', spec('bad'));
    await eventually(
      async () => (await world.status()).find((a) => a.app === 'web' && a.phase === 'Degraded'),
      30_000,
      'Degraded',
    );
    await berth.waitForLog((l) => l.app === 'web' && /retrying in/.test(l.msg), 10_000);
    // Two more attempts fail (2 s, then 4 s of backoff).
    await eventually(
      async () => berth.logs.filter((l) => l.app === 'web' && l.result === 'failed').length >= 3,
      30_000,
      'three failed attempts',
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(hooks().filter((e) => e.type === 'deploy.failed').length, 1);
    assert.equal(hooks().filter((e) => e.type === 'deploy.started' && e.details.tag === 'bad').length, 1);
    const [line] = await eventually(async () => (chat().length > 0 ? chat() : undefined), 10_000, 'a chat line');
    assert.match(
      line!,
      new RegExp(
        `^❌ \\*web\\* \\(${world.namespace}\\): ${world.namespace}/web:bad: deploy failed: check /health .* failed after 3 attempts.* — <https://berth\\.example\\.test/#app-web\\|status>$`,
      ),
    );
    const timeline = JSON.parse((await world.cli(['events', 'web', '--json'])).stdout) as { type: string }[];
    assert.deepEqual(
      timeline.map((e) => e.type).filter((t) => t === 'deploy.failed'),
      ['deploy.failed'],
      'the timeline says it once too',
    );
  });

  it('a receiver that fails, then hangs, slows no deploy; each event arrives once when it answers again', async () => {
    mode = 'fail';
    await world.writeManifest('web', spec('v2'));
    await eventually(
      async () =>
        (await world.status()).find((a) => a.app === 'web' && a.phase === 'Running' && a.running.tag === 'v2'),
      30_000,
      'v2 Running while the receiver fails',
    );
    mode = 'hang';
    const begin = Date.now();
    await world.writeManifest('web', spec('v3'));
    await eventually(
      async () =>
        (await world.status()).find((a) => a.app === 'web' && a.phase === 'Running' && a.running.tag === 'v3'),
      30_000,
      'v3 Running while the receiver hangs',
    );
    assert.ok(Date.now() - begin < 15_000, `the deploy took ${Date.now() - begin} ms`);
    mode = 'ok';
    for (const cut of hanging.splice(0)) cut();
    const tags = await eventually(
      async () => {
        const done = hooks()
          .filter((e) => e.type === 'deploy.succeeded')
          .map((e) => e.details.tag);
        return done.includes('v2') && done.includes('v3') ? done : undefined;
      },
      60_000,
      'v2 and v3 delivered after the receiver recovered',
    );
    assert.deepEqual(tags, ['v1', 'v2', 'v3']);
    const ids = hooks().map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'nothing delivered twice');
  });

  it('says an app removed', async () => {
    // Another app keeps the directory from being empty (an emptied directory removes nothing without --allow-empty).
    await world.writeManifest('keep', { ...spec('v1'), image: `${world.namespace}/web` });
    await eventually(
      async () => (await world.status()).find((a) => a.app === 'keep' && a.phase === 'Running'),
      30_000,
      'keep Running',
    );
    await remove(join(world.manifests, 'web.yaml'));
    const removed = await eventually(
      async () => hooks().find((e) => e.type === 'app.removed'),
      30_000,
      'app.removed posted',
    );
    assert.equal(removed.app, 'web');
    assert.equal(await berth.stop(), 0);
  });
});
