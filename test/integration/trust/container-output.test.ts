/**
 * What comes out of a container is hostile text: a probe that prints the app's connection string,
 * a release step that writes terminal escapes, a probe or post-deploy command that floods its
 * output, an HTTP check endpoint whose body is gigabytes. On the real engine, with berth run as
 * users run it: no env value (the manifest's or an age-encrypted env file's) reaches the log, the
 * state directory, status, history, events, notifications, the API or the page; no control
 * character either; the messages still say what failed; berth's memory stays bounded; and the
 * revision that serves keeps serving.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, type BerthProcess } from '../../support/berth-process.js';
import { ageEncrypt, ageKeygen } from '../../support/age.js';
import { buildTestImage, httpGet } from '../../support/docker.js';
import { freePort } from '../../support/nginx.js';
import { Scenario } from '../../support/scenario.js';

/** What berth may hold at its peak (VmHWM), floods included: a small multiple of its idle size, far below a flood. */
const RSS_LIMIT_BYTES = 300 * 1024 * 1024;
/** Each flood is larger than the RSS limit alone (and berth used to buffer it three times over). */
const FLOOD_BYTES = 160_000_000;

describe('container output: redacted, stripped of control characters, bounded (real engine)', function () {
  this.timeout(120_000);
  let world: Scenario;
  let berth: BerthProcess;
  let listen: number;
  let scratch: string;
  const PASSWORD = 'pw-Kq93-plain-env';
  const TOKEN = 'tok-Vx52-from-age';

  const web = async () => (await world.status()).find((a) => a.app === 'web');
  const history = async () =>
    JSON.parse((await world.cli(['history', 'web', '--json'])).stdout) as {
      tag: string;
      outcome: string;
      reason?: string;
      output?: string;
      postDeploy?: string;
    }[];
  /** Revision `n` of web: one image, each revision its own env (so its own spec), serving "web <n>" at `/`. */
  const spec = (n: number, extra: Record<string, unknown> = {}) => ({
    tag: 'v1',
    env: { DB_PASSWORD: PASSWORD, REVISION: String(n) },
    envFrom: [{ file: 'secrets/web.env.age' }],
    checks: { wait: 0 },
    deploy: { retireAfter: 1, monitor: 0 },
    ...extra,
  });
  const flood = (then: string) => [
    'sh',
    '-c',
    `/bin/busybox head -c ${FLOOD_BYTES} /dev/zero | /bin/busybox tr '\\0' x; echo; ${then}`,
  ];
  /** The body web's one running container serves at `/`, through its port on 127.0.0.1. */
  const servedBy = () =>
    eventually(
      async () => {
        const running = await world.running('web');
        return running.length === 1 && running[0]!.port !== undefined
          ? (await httpGet(running[0]!.port, '/')).body
          : undefined;
      },
      10_000,
      'one container of web serving',
    );
  const peakRss = async () =>
    Number(/^VmHWM:\s+(\d+) kB$/m.exec(await readFile(`/proc/${berth.pid}/status`, 'utf8'))?.[1]) * 1024;

  before(async () => {
    world = await Scenario.create();
    scratch = await mkdtemp(join(tmpdir(), 'berth-output-'));
    await ageKeygen(join(world.root, 'key.txt'));
    await ageEncrypt(
      join(world.root, 'key.txt'),
      join(world.manifests, 'secrets', 'web.env.age'),
      `API_TOKEN=${TOKEN}\n`,
    );
    // The app says its secrets as it starts (a failing container's log is quoted), and serves
    // its revision at /, /big, 4 GiB that start with "ok", and /zeros, 4 GiB of nothing (sparse
    // files: no disk used).
    const command = [
      'echo "starting with $DB_PASSWORD and $API_TOKEN"',
      'printf "web %s" "$REVISION" > /www/index.html',
      'echo ok > /www/big',
      '/bin/busybox truncate -s 4G /www/big /www/zeros',
      "trap 'exit 0' TERM",
      '/bin/busybox httpd -f -p 8080 -h /www & wait',
    ].join('; ');
    await buildTestImage(`${world.namespace}/web`, 'v1', { command });
    await world.writeManifest('web', spec(1));
    listen = await freePort();
    berth = world.start([
      '--age-identity',
      join(world.root, 'key.txt'),
      '--listen',
      `127.0.0.1:${listen}`,
      '--notify-exec',
      `cat >> ${join(scratch, 'events.jsonl')}`,
    ]);
    await eventually(async () => (await web())?.phase === 'Running', 30_000, 'revision 1 Running');
  });
  after(async () => {
    await world.cleanup();
    await rm(scratch, { recursive: true, force: true });
  });

  it('a probe that prints the connection string: the failure says why, with every secret value redacted and no control character, everywhere berth writes or shows', async () => {
    await world.writeManifest(
      'web',
      spec(2, {
        release: {
          command: [
            'sh',
            '-c',
            'echo "migrating postgres://app:$DB_PASSWORD@db/app"; printf "\\033[2J\\033]0;%s%s\\007token %s\\n" pwned -title "$API_TOKEN"',
          ],
          timeout: 60,
        },
        checks: {
          exec: [
            {
              command: [
                'sh',
                '-c',
                'printf "probe \\033[31mfailed\\033[0m\\007: dial postgres://app:%s@db:5432/app?token=%s: connection refused\\n" "$DB_PASSWORD" "$API_TOKEN"; exit 2',
              ],
              attempts: 1,
              wait: 0,
              timeout: 10,
            },
          ],
        },
      }),
    );
    const degraded = await eventually(
      async () => {
        const status = await web();
        return status?.phase === 'Degraded' && status.lastError?.includes('connection refused') ? status : undefined;
      },
      30_000,
      'revision 2 failed its check',
    );
    assert.match(
      degraded.lastError!,
      /failed after 1 attempts: exit code 2: probe failed: dial postgres:\/\/app:<redacted>@db:5432\/app\?token=<redacted>: connection refused$/,
    );
    assert.equal(await servedBy(), 'web 1', 'the revision that served keeps serving');
    await eventually(
      async () => (await history()).some((h) => h.outcome === 'failed'),
      10_000,
      'the failure in history',
    );
    await eventually(
      async () => (await readFile(join(scratch, 'events.jsonl'), 'utf8').catch(() => '')).includes('deploy.failed'),
      20_000,
      'deploy.failed notified',
    );
    // The release step's output and the failing container's log are logged, redacted and stripped.
    const release = await berth.waitForLog((l) => l.step === 'release-step' && typeof l.output === 'string', 5_000);
    assert.match(String(release.output), /^migrating postgres:\/\/app:<redacted>@db\/app\ntoken <redacted>$/);
    const logged = await berth.waitForLog((l) => l.step === 'checks' && typeof l.output === 'string', 5_000);
    assert.match(String(logged.output), /starting with <redacted> and <redacted>/);

    const texts: [string, string][] = [
      ['the log', berth.logs.map((l) => JSON.stringify(l)).join('\n') + berth.stderr],
      ['status', (await world.cli(['status'])).stdout],
      ['status --json', (await world.cli(['status', '--json'])).stdout],
      ['history --json', (await world.cli(['history', 'web', '--json'])).stdout],
      ['events --json', (await world.cli(['events', 'web', '--json'])).stdout],
      ['notifications', await readFile(join(scratch, 'events.jsonl'), 'utf8')],
      ['/api/apps', await (await fetch(`http://127.0.0.1:${listen}/api/apps`)).text()],
      ['/api/events', await (await fetch(`http://127.0.0.1:${listen}/api/events`)).text()],
      ['the status page', await (await fetch(`http://127.0.0.1:${listen}/`)).text()],
      ['/metrics', await (await fetch(`http://127.0.0.1:${listen}/metrics`)).text()],
      [
        'plan',
        (await world.cli(['plan', '--manifests', world.manifests, '--age-identity', join(world.root, 'key.txt')]))
          .stdout,
      ],
    ];
    for (const file of await readdir(world.stateDir, { recursive: true })) {
      const path = join(world.stateDir, String(file));
      if ((await stat(path)).isFile()) texts.push([path, await readFile(path, 'latin1')]);
    }
    assert.ok(
      texts.some(([, text]) => text.includes('connection refused')),
      'the searched texts hold the failure',
    );
    for (const [where, text] of texts) {
      for (const value of [PASSWORD, TOKEN]) assert.ok(!text.includes(value), `"${value}" was found in ${where}`);
      // (Not in binary files such as the state's secrets.key, whose random bytes may be anything.)
      if (!where.endsWith('.key'))
        assert.doesNotMatch(
          text,
          /\u001b|\u0007|\\u001b|\\u0007|\\x1b|\\e\[|pwned-title/i,
          `a control character (or what it hid) in ${where}`,
        );
    }
  });

  it('a 4 GiB check body, a flooding post-deploy command and a flooding probe: each judged on what berth kept, in bounded memory, the serving revision undisturbed', async () => {
    // The check passes on the first bytes of a 4 GiB body; the post-deploy command floods, then fails.
    await world.writeManifest(
      'web',
      spec(3, {
        checks: { http: [{ path: '/big', content: 'ok', attempts: 3, wait: 0, timeout: 10 }] },
        postDeploy: { command: flood('echo "post-deploy gave up on $DB_PASSWORD"; exit 3'), timeout: 60 },
      }),
    );
    const deployed = await eventually(
      async () => (await history()).find((h) => h.postDeploy !== undefined),
      60_000,
      'revision 3 deployed, its post-deploy command done',
    );
    assert.equal(deployed.outcome, 'succeeded');
    assert.equal(deployed.postDeploy, 'failed: exited with code 3: post-deploy gave up on <redacted>');
    assert.equal(await servedBy(), 'web 3');

    // A probe that floods, then fails: its last line is still the reason.
    await world.writeManifest(
      'web',
      spec(4, {
        checks: {
          exec: [
            { command: flood('echo "probe flooded, then: $API_TOKEN"; exit 1'), attempts: 1, wait: 0, timeout: 60 },
          ],
        },
      }),
    );
    const flooded = await eventually(
      async () => {
        const status = await web();
        return status?.phase === 'Degraded' && status.lastError?.includes('probe flooded') ? status : undefined;
      },
      60_000,
      'revision 4 failed its check',
    );
    assert.match(flooded.lastError!, /failed after 1 attempts: exit code 1: probe flooded, then: <redacted>$/);
    assert.equal(await servedBy(), 'web 3', 'the serving revision is undisturbed');

    // A body of 4 GiB without the content: the check reads its first 64 KiB, no more, and says so.
    // The one attempt waits 2 s: the published port (docker-proxy) accepts at once and resets the
    // connection until busybox httpd listens behind it.
    await world.writeManifest(
      'web',
      spec(5, { checks: { http: [{ path: '/zeros', content: 'ok', attempts: 1, wait: 2, timeout: 10 }] } }),
    );
    const zeros = await eventually(
      async () => {
        const status = await web();
        return status?.phase === 'Degraded' && status.lastError?.includes('/zeros') ? status : undefined;
      },
      60_000,
      'revision 5 failed its check',
    );
    assert.match(
      zeros.lastError!,
      /check \/zeros on \S+ failed after 1 attempts: the body does not contain "ok" in its first 64 KiB$/,
    );
    assert.equal(await servedBy(), 'web 3', 'the serving revision is undisturbed');

    const peak = await peakRss();
    assert.ok(peak > 0 && peak < RSS_LIMIT_BYTES, `berth's peak RSS was ${Math.round(peak / 1024 / 1024)} MiB`);
    const texts = [
      berth.logs.map((l) => JSON.stringify(l)).join('\n'),
      (await world.cli(['history', 'web', '--json'])).stdout,
      (await world.cli(['status', '--json'])).stdout,
    ];
    for (const text of texts)
      for (const value of [PASSWORD, TOKEN]) assert.ok(!text.includes(value), `"${value}" was found`);
    assert.ok(
      texts.every((text) => text.length < 2 * 1024 * 1024),
      'what berth keeps of the floods is small',
    );
    assert.equal(await berth.stop(), 0);
  });
});
