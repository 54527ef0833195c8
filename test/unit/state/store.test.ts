import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { StateStore } from '../../../src/state/store.js';

/** A logger whose lines land in `lines`, parsed. */
function recordingLogger(lines: Record<string, unknown>[]) {
  return pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
}

describe('StateStore (the host faults of its own file)', () => {
  let root: string;
  const dir = () => join(root, 'dokku');

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-store-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('moves a truncated state file aside, says what was lost, and starts afresh; read-only commands move nothing', async () => {
    const first = await StateStore.open(root, 'dokku');
    first.update('web', { phase: 'Running', message: 'ok' }, 1);
    first.appendHistory('web', {
      at: 1,
      tag: 'v1',
      image: 'dokku/web',
      imageId: 'sha256:a',
      revision: 'r',
      outcome: 'succeeded',
      durationMs: 1,
    });
    await first.flush();
    const file = join(dir(), 'state.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.slice(0, text.length / 2));

    assert.deepEqual((await StateStore.read(root, 'dokku')).names(), [], 'status reads a corrupt file as empty');
    assert.deepEqual(await readdir(dir()), ['state.json'], 'and leaves it where it is');

    const lines: Record<string, unknown>[] = [];
    const store = await StateStore.open(root, 'dokku', { logger: recordingLogger(lines) });
    assert.deepEqual(store.names(), []);
    const kept = (await readdir(dir())).filter((f) => f.startsWith('state.json.corrupt-'));
    assert.equal(kept.length, 1);
    assert.equal(
      await readFile(join(dir(), kept[0]!), 'utf8'),
      text.slice(0, text.length / 2),
      'the old file is kept byte for byte',
    );
    const warning = lines.find((l) => l.source === 'state');
    assert.equal(warning?.level, 40);
    assert.match(
      String(warning?.msg),
      /state\.json is not JSON .*moved it to .*corrupt-.*deploy history it held is lost/,
    );
  });

  it('survives a write that fails: reports it, keeps the record in memory, and catches up by itself', async () => {
    const lines: Record<string, unknown>[] = [];
    const store = await StateStore.open(root, 'dokku', { logger: recordingLogger(lines) });
    let changes = 0;
    store.onChange(() => changes++);
    await rename(dir(), `${dir()}.away`);
    store.update('web', { phase: 'Running', message: 'ok' }, 1);
    await store.flush();
    assert.match(store.writeFailure()?.message ?? '', /^cannot write the state file .*state\.json: ENOENT/);
    assert.equal(store.get('web')?.phase, 'Running', 'the record lives on in memory');
    assert.equal(lines.filter((l) => l.source === 'state' && l.level === 50).length, 1, 'logged once');

    await rename(`${dir()}.away`, dir());
    for (let i = 0; i < 40 && store.writeFailure(); i++) await sleep(100);
    assert.equal(store.writeFailure(), undefined, 'the retry wrote the file');
    assert.equal(JSON.parse(await readFile(join(dir(), 'state.json'), 'utf8')).apps.web.phase, 'Running');
    assert.ok(changes >= 3, 'listeners hear of the failure and the recovery');
    assert.deepEqual(
      (await readdir(dir())).filter((f) => f.endsWith('.tmp')),
      [],
      'no temp file left behind',
    );
    store.close();
  });

  it('creates its directory 0700 and its file 0600', async () => {
    const store = await StateStore.open(root, 'dokku');
    store.update('web', { phase: 'Running', message: 'ok' }, 1);
    await store.flush();
    assert.equal((await stat(dir())).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir(), 'state.json'))).mode & 0o777, 0o600);
  });
});
