import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, runCli } from '../../support/berth-process.js';
import { ageKeygen } from '../../support/age.js';
import { buildTestImage } from '../../support/docker.js';
import { Scenario } from '../../support/scenario.js';

/** The CLI with `input` on its stdin. */
const cliWithInput = (args: string[], input: string) => runCli(args, {}, input);

describe('berth commands and exit codes (real engine)', function () {
  this.timeout(90_000);
  let world: Scenario;

  beforeEach(async () => {
    world = await Scenario.create();
  });
  afterEach(async () => world.cleanup());

  it('validate: 0 for valid files, 1 with file:line:col per problem for invalid ones', async () => {
    const good = await world.writeManifest('good', { tag: 'v1' });
    assert.equal((await world.cli(['validate', good])).code, 0);
    const bad = join(world.manifests, 'bad.yaml');
    await writeFile(
      bad,
      'apiVersion: berth/v1\nkind: App\nmetadata:\n  name: bad\nspec:\n  tag: "v1;rm -rf"\n  privileged: true\n',
    );
    const result = await world.cli(['validate', world.manifests]);
    assert.equal(result.code, 1);
    const lines = result.stdout.trim().split('\n');
    assert.ok(
      lines.some((l) => l.startsWith(`${bad}:6:8: spec.tag`)),
      result.stdout,
    );
    assert.ok(
      lines.some((l) => l.startsWith(`${bad}:7:3: spec.privileged`)),
      result.stdout,
    );
    assert.ok(!/\n\s+at /.test(result.stdout + result.stderr), 'no stack trace');
  });

  it('validate --runtime swarm: a hostIp Swarm cannot bind exits 1 naming its place; on one host the file is valid', async () => {
    const file = join(world.manifests, 'bound.yaml');
    await writeFile(
      file,
      'apiVersion: berth/v1\nkind: App\nmetadata:\n  name: bound\nspec:\n  tag: v1\n  ports:\n    - container: 80\n      hostIp: 127.0.0.1\n',
    );
    const onSwarm = await world.cli(['validate', '--runtime', 'swarm', file]);
    assert.equal(onSwarm.code, 1);
    assert.match(
      onSwarm.stdout,
      new RegExp(`^${file}:9:15: spec\\.ports\\[0\\]\\.hostIp: Swarm publishes port 80/tcp`),
    );
    assert.equal((await world.cli(['validate', file])).code, 0);
    const unknown = await world.cli(['validate', '--runtime', 'kubernetes', file]);
    assert.equal(unknown.code, 1, unknown.stderr);
    assert.match(unknown.stderr, /--runtime must be docker or swarm, not "kubernetes"/);
  });

  it("keeps each command's compiled code in BERTH_COMPILE_CACHE and starts from it; a corrupt cache changes nothing a user sees; off keeps none", async () => {
    const cacheDir = join(world.root, 'code-cache');
    const good = await world.writeManifest('good', { tag: 'v1' });
    const validate = async (env: NodeJS.ProcessEnv) => {
      const result = await runCli(['validate', good], env);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, '');
      assert.equal(result.stderr, '1 file(s), 1 app(s): valid\n');
    };
    await validate({ BERTH_COMPILE_CACHE: cacheDir });
    const [file, ...more] = await readdir(cacheDir);
    assert.equal(more.length, 0);
    assert.match(file ?? '', /^command-validate-[0-9a-f]{16}-v\d+\.\d+\.\d+-\w+-[0-9a-f]{8}\.v8cache$/);
    const cacheFile = join(cacheDir, file!);
    assert.equal((await stat(cacheFile)).mode & 0o777, 0o600);
    assert.equal((await stat(cacheDir)).mode & 0o777, 0o700);
    const written = await stat(cacheFile);

    await validate({ BERTH_COMPILE_CACHE: cacheDir });
    assert.equal((await stat(cacheFile)).ino, written.ino, 'the cache was used, not written again');
    assert.equal((await runCli(['status', ...world.flags()], { BERTH_COMPILE_CACHE: cacheDir })).code, 0);
    assert.deepEqual(
      (await readdir(cacheDir)).map((f) => f.split('-').slice(0, 2).join('-')).sort(),
      ['command-status', 'command-validate'],
      'a cache per command',
    );

    await writeFile(cacheFile, Buffer.alloc(64 * 1024, 0x5a));
    await validate({ BERTH_COMPILE_CACHE: cacheDir });
    assert.notDeepEqual(await readFile(cacheFile), Buffer.alloc(64 * 1024, 0x5a), 'the corrupt cache was replaced');

    const elsewhere = join(world.root, 'xdg-cache');
    await validate({ BERTH_COMPILE_CACHE: 'off', XDG_CACHE_HOME: elsewhere });
    await assert.rejects(stat(elsewhere), /ENOENT/, 'off writes no cache');
  });

  it('validate | true: output to a reader that has gone ends berth quietly, with the status of a tool killed by SIGPIPE', async () => {
    await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        writeFile(
          join(world.manifests, `${name}.yaml`),
          `apiVersion: berth/v1\nkind: App\nmetadata:\n  name: ${name}\nspec:\n  tag: "not a tag"\n`,
        ),
      ),
    );
    // `true` exits without reading, long before berth has read and checked the files.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash script, expanded by bash
    const script = 'set -o pipefail; "$0" "$1" validate "$2" | true; echo "status ${PIPESTATUS[0]}"';
    const { stdout, stderr } = await promisify(execFile)('bash', [
      '-c',
      script,
      process.execPath,
      CLI,
      world.manifests,
    ]);
    assert.equal(stdout.trim(), 'status 141');
    assert.ok(!/EPIPE|\n\s+at /.test(stderr), `no EPIPE error or stack trace:\n${stderr}`);
  });

  it('plan: what a pass would do, as a diff per app (image, env keys, ports, replicas; env values never shown) and its actions; changes nothing; --exit-code 2 while changes are pending, 0 once converged', async () => {
    const [oldSecret, newSecret, oldSetting, newFlag] = [
      'old-secret-0xA1B2',
      'new-secret-0xC3D4',
      'legacy-mode-value',
      'flag-value-enabled',
    ];
    const values = [oldSecret, newSecret, oldSetting, newFlag];
    await buildTestImage(`${world.namespace}/web`, 'v1');
    await buildTestImage(`${world.namespace}/web`, 'v2');
    await world.writeManifest('web', {
      tag: 'v1',
      env: { API_KEY: oldSecret, OLD_SETTING: oldSetting },
      checks: { wait: 0 },
    });
    const plan = async (expectedCode: number) => {
      const result = await world.cli(['plan', '--manifests', world.manifests, '--exit-code']);
      assert.equal(result.code, expectedCode, result.stdout + result.stderr);
      for (const value of values)
        assert.ok(
          !(result.stdout + result.stderr).includes(value),
          `an env value leaked:\n${result.stdout}${result.stderr}`,
        );
      return result.stdout.split('\n');
    };

    const fresh = await plan(2);
    assert.deepEqual(
      fresh.slice(0, 6),
      [
        `web: deploy ${world.namespace}/web:v1 (zero-downtime)`,
        `  + image     ${world.namespace}/web:v1`,
        '  + env       API_KEY',
        '  + env       OLD_SETTING',
        '  + ports     8080/tcp: 127.0.0.1:*',
        '  + replicas  1',
      ],
      fresh.join('\n'),
    );
    assert.match(fresh[6] ?? '', /^ {2}\+ create /, 'the actions follow the diff');
    assert.equal((await world.containers()).length, 0, 'plan changed nothing');

    const once = await world.cli(['run', '--once', '--manifests', world.manifests]);
    assert.equal(once.code, 0, once.stderr);
    assert.equal((await world.running('web')).length, 1);
    assert.match((await plan(0)).join('\n'), /web: up to date/);

    await world.writeManifest('web', {
      tag: 'v2',
      env: { API_KEY: newSecret, NEW_FLAG: newFlag },
      replicas: 2,
      checks: { wait: 0 },
    });
    const changed = await plan(2);
    // The image's own env (PATH) is not the app's: no line for it. Ports are unchanged: no line.
    assert.deepEqual(
      changed.slice(0, 6),
      [
        `web: deploy ${world.namespace}/web:v2 (zero-downtime)`,
        `  ~ image     ${world.namespace}/web:v1 -> ${world.namespace}/web:v2`,
        '  ~ env       API_KEY: (value changed)',
        '  + env       NEW_FLAG',
        '  - env       OLD_SETTING',
        '  ~ replicas  1 -> 2',
      ],
      changed.join('\n'),
    );
    assert.match(changed[6] ?? '', /^ {2}\+ create /, 'the actions follow the diff');
  });

  it('plan: an invalid manifest exits 1 naming file:line:col, and a never-deployed app it names is invalid, not gone', async () => {
    await buildTestImage(`${world.namespace}/ok`, 'v1');
    await world.writeManifest('ok', { tag: 'v1', checks: { wait: 0 } });
    const bad = join(world.manifests, 'web.yaml');
    await writeFile(bad, world.manifest('web', { tag: 'v1' }).replace('tag: v1', 'tag: [v1]'));
    for (const flags of [[], ['--exit-code']]) {
      const result = await world.cli(['plan', '--manifests', world.manifests, ...flags]);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      const lines = result.stdout.split('\n');
      assert.ok(
        lines.some((l) => l.startsWith(`web: invalid, nothing changes for it: ${bad}:`)),
        result.stdout,
      );
      assert.ok(!lines.some((l) => /^web: gone/.test(l)), result.stdout);
      assert.ok(
        lines.some((l) => l.startsWith(`! ${bad}:`)),
        result.stdout,
      );
      assert.ok(
        lines.some((l) => l.startsWith(`ok: deploy ${world.namespace}/ok:v1`)),
        'the valid app is still planned',
      );
    }
    assert.equal((await world.containers()).length, 0, 'plan changed nothing');
  });

  it('run --once: 1 when any app fails, naming it', async () => {
    await buildTestImage(`${world.namespace}/ok`, 'v1');
    await world.writeManifest('ok', { tag: 'v1', checks: { wait: 0 } });
    await world.writeManifest('missing', { tag: 'nope' });
    const result = await world.cli(['run', '--once', '--manifests', world.manifests]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /missing: Pending/);
    assert.equal((await world.running('ok')).length, 1, 'the good app is deployed anyway');
  });

  it('status: an aligned table and --json', async () => {
    await buildTestImage(`${world.namespace}/web`, 'v1');
    await world.writeManifest('web', { tag: 'v1', checks: { wait: 0 } });
    assert.equal((await world.cli(['run', '--once', '--manifests', world.manifests])).code, 0);
    const table = await world.cli(['status']);
    assert.equal(table.code, 0);
    const [header, row] = table.stdout.trim().split('\n');
    assert.match(header ?? '', /^APP\s+DESIRED\s+RUNNING\s+PHASE\s+AGE\s+MESSAGE$/);
    assert.match(row ?? '', /^web\s+v1\s+v1\s+Running\s+\d+s\s+1 × /);
    const [json] = await world.status();
    assert.equal(json?.phase, 'Running');
    assert.equal(json?.running.tag, 'v1');
  });

  it('a second controller for the same namespace exits 1 naming the first; a stale lock is taken over', async () => {
    const first = world.start();
    await first.waitForLog((l) => l.msg === 'berth is running', 20_000);
    const second = await world.cli(['run', '--manifests', world.manifests]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`pid ${first.pid}`));
    await first.stop('SIGKILL');
    const third = world.start();
    await third.waitForLog((l) => l.msg === 'berth is running', 20_000);
    assert.equal(await third.stop(), 0);
  });

  it("secrets:encrypt: stdin encrypted for each recipient in .age-recipients, as Debian's age decrypts it; validate decrypts it with BERTH_AGE_IDENTITY_FILE (0600 only)", async () => {
    const keys = {
      a: join(world.root, 'key-a.txt'),
      b: join(world.root, 'key-b.txt'),
      other: join(world.root, 'key-other.txt'),
    };
    for (const key of Object.values(keys)) await ageKeygen(key);
    const recipient = async (key: string) => (await promisify(execFile)('age-keygen', ['-y', key])).stdout.trim();
    const encrypt = (name: string, input: string) =>
      cliWithInput(['secrets:encrypt', 'web', name, '--manifests', world.manifests], input);
    const refused = await encrypt('web.env', 'A=1\n');
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /\.age-recipients: missing; list the public keys \(age-keygen -y KEY_FILE\) that may decrypt, one per line/,
    );
    await writeFile(
      join(world.manifests, '.age-recipients'),
      `# the deploy host\n${await recipient(keys.a)}\n\n${await recipient(keys.b)}\n`,
    );

    const pem = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIKey-0xF00D-line-two\n-----END PRIVATE KEY-----';
    const plaintext = `# web's secrets\nDB_PASSWORD=pw-0xBEEF-encrypted\nexport TLS_KEY="${pem}"\n`;
    const result = await encrypt('web.env', plaintext);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      [
        '=====> Encrypted for 2 recipient(s) into secrets/web/web.env.age',
        "       name it in web's manifest: envFrom: [{ file: secrets/web/web.env.age }]  (a dotenv file)",
        '                                 or secrets: [{ file: secrets/web/web.env.age, target: /run/secrets/web.env }]',
        '',
      ].join('\n'),
    );
    const file = join(world.manifests, 'secrets', 'web', 'web.env.age');
    assert.ok(!(await readFile(file, 'latin1')).includes('pw-0xBEEF'), 'no plaintext in the file');
    for (const key of [keys.a, keys.b])
      assert.equal((await promisify(execFile)('age', ['-d', '-i', key, file])).stdout, plaintext, `age -d -i ${key}`);
    await assert.rejects(promisify(execFile)('age', ['-d', '-i', keys.other, file]), /no identity matched/);

    await world.writeManifest('web', { tag: 'v1', envFrom: [{ file: 'secrets/web/web.env.age' }] });
    const validate = (identities: string) =>
      runCli(['validate', world.manifests], { BERTH_AGE_IDENTITY_FILE: identities });
    const valid = await validate(keys.a);
    assert.deepEqual([valid.code, valid.stdout, valid.stderr], [0, '', '1 file(s), 1 app(s): valid\n']);
    assert.equal((await validate(`${keys.other}:${keys.b}`)).code, 0, 'a `:`-separated list');
    const otherKey = await validate(keys.other);
    assert.equal(otherKey.code, 1);
    assert.match(
      otherKey.stdout,
      /web\.yaml:\d+:\d+: .*secrets\/web\/web\.env\.age: cannot decrypt: it is encrypted to another key than the identities berth was given$/m,
    );
    assert.equal((await encrypt('web.env', 'A=1\nB="two\nlines"\nnot a variable pw-0xBEEF\n')).code, 0);
    const badLine = await validate(keys.a);
    assert.equal(badLine.code, 1);
    assert.match(badLine.stdout, /secrets\/web\/web\.env\.age: not a dotenv file: line 4 is not NAME=value$/m);
    assert.ok(!(badLine.stdout + badLine.stderr).includes('pw-0xBEEF'), 'the line is not quoted');
    await chmod(keys.a, 0o644);
    const readable = await validate(keys.a);
    assert.equal(readable.code, 1);
    assert.match(
      readable.stderr,
      new RegExp(
        `${keys.a}: has mode 0644: group or other users can read it, and it holds a secret \\(chmod 600 ${keys.a}\\)`,
      ),
    );
  });

  it("prints an unexpected error's stack as file:line of the TypeScript source, not of the bundle, with the code cache or without", async () => {
    const bad = join(world.manifests, 'bad.yaml');
    await writeFile(bad, 'apiVersion: berth/v1\nkind: App\nmetadata:\n  name: bad\nspec:\n  tag: "not a tag"\n');
    // Writing to stdout fails in a way berth does not expect: the error reaches the unexpected path from inside the bundled command.
    const preload = join(world.root, 'stdout-throws.cjs');
    await writeFile(preload, "process.stdout.write = () => { throw new Error('stdout refused this write'); };\n");
    const position = async (file: string, text: string) => {
      const lines = (await readFile(file, 'utf8')).split('\n');
      const index = lines.findIndex((line) => line.includes(text));
      assert.ok(index >= 0, `${text} in ${file}`);
      return `${index + 1}:${(lines[index] ?? '').indexOf(text) + 1}`;
    };
    const cache = join(world.root, 'code-cache');
    for (const env of [
      { BERTH_COMPILE_CACHE: cache },
      { BERTH_COMPILE_CACHE: cache },
      { BERTH_COMPILE_CACHE: 'off' },
    ]) {
      const result = await runCli(['validate', bad], { ...env, NODE_OPTIONS: `--require ${preload}` });
      assert.equal(result.code, 1);
      const [first, ...frames] = result.stderr.trimEnd().split('\n');
      assert.equal(first, 'berth: unexpected error: Error: stdout refused this write');
      assert.equal(
        frames[1],
        `    at Object.stdout (src/cli/main.ts:${await position('src/cli/main.ts', 'write(process.stdout.isTTY')})`,
      );
      assert.equal(
        frames[2],
        `    at validateCommand (src/cli/commands/validate.ts:${await position('src/cli/commands/validate.ts', 'stdout(`${formatProblem(')})`,
      );
      assert.match(frames[3] ?? '', /^ {4}at async main \(src\/cli\/main\.ts:\d+:\d+\)$/);
      assert.doesNotMatch(result.stderr, /dist\//, 'no frame in a bundle');
    }
    assert.equal((await readdir(cache)).length, 1, 'the code cache was written, and used by the second run');
  });

  it('reports an unreachable engine in one line, exit 1', async () => {
    const result = await runCli(['run', '--once', '--manifests', world.manifests, ...world.flags()], {
      DOCKER_HOST: `unix://${join(world.root, 'no.sock')}`,
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot reach the Docker engine/);
    assert.equal(result.stderr.trim().split('\n').length, 1);
  });
});
