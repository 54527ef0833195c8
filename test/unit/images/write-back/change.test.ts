import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import {
  blobId,
  commitMessage,
  MAX_SUBJECT_LENGTH,
  manifestPathInRepo,
  tagIn,
} from '../../../../src/images/write-back/change.js';

describe('git write-back: the commit message and the manifest path', () => {
  it('names app, from and to in the subject, and the policy in the body', () => {
    const message = commitMessage({ app: 'web', file: 'web.yaml', from: '1.1.0', to: '1.1.1', policy: 'semver ^1' });
    assert.equal(message.subject, 'berth: web 1.1.0 -> 1.1.1');
    assert.equal(message.body, 'Image policy semver ^1 of app web moved its tag from 1.1.0 to 1.1.1.');
    const pinned = commitMessage({
      app: 'web',
      file: 'web.yaml',
      from: '1.1.0',
      to: '1.1.1',
      digest: `sha256:${'b'.repeat(64)}`,
      policy: 'semver ^1',
    });
    assert.match(pinned.body, /\n\nDigest: sha256:b{64}$/);
  });

  it('cuts a long subject to 72 characters, marking the cut; the body keeps the tags whole', () => {
    const to = `main-${'9'.repeat(60)}-abcdef0`;
    const message = commitMessage({ app: 'storefront-api', file: 'a.yaml', from: '1.0.0', to, policy: 'pattern' });
    assert.equal(message.subject.length, MAX_SUBJECT_LENGTH);
    assert.ok(message.subject.startsWith('berth: storefront-api 1.0.0 -> main-999'));
    assert.ok(message.subject.endsWith('...'));
    assert.ok(message.body.includes(to));
  });

  it('puts a hostile policy text on one line, without terminal control, bounded', () => {
    const policy = `pattern ^x$\n\nSigned-off-by: mallory\u001b]0;owned\u0007${'y'.repeat(500)}`;
    const { subject, body } = commitMessage({ app: 'web', file: 'w.yaml', from: '1', to: '2', policy });
    assert.equal(subject, 'berth: web 1 -> 2');
    assert.ok(!body.includes('\n') && !body.includes('\u001b'), body);
    assert.ok(body.length < 300, `${body.length}`);
  });

  it('keeps the manifest path inside the repository', () => {
    assert.equal(manifestPathInRepo('', 'web.yaml'), 'web.yaml');
    assert.equal(manifestPathInRepo('deploy/prod', 'team/web.yaml'), 'deploy/prod/team/web.yaml');
    assert.equal(manifestPathInRepo('deploy/prod/', './web.yaml'), 'deploy/prod/web.yaml');
    for (const [path, file] of [
      ['', '../web.yaml'],
      ['deploy', '../../etc/passwd'],
      ['', '/etc/passwd'],
      ['/etc', 'passwd'],
      ['', '.git/config'],
      ['deploy', '.GIT/hooks/pre-commit'],
      ['', ''],
      ['deploy', '.'],
      ['', 'web.yaml\0.txt'],
    ] as const) {
      assert.equal(manifestPathInRepo(path, file), undefined, `${path} ${file}`);
    }
  });

  it("reads the tag a manifest's app says", () => {
    const text = 'metadata: {name: api}\nspec: {tag: v9}\n---\nmetadata: {name: web}\nspec:\n  tag: 1.1.0\n';
    assert.equal(tagIn(text, 'f.yaml', 'web'), '1.1.0');
    assert.equal(tagIn(text, 'f.yaml', 'db'), undefined);
    assert.equal(tagIn('metadata: {name: web}\nspec: {tag: 1.10}\n', 'f.yaml', 'web'), undefined);
  });

  it("computes git's blob id, so bytes that are not UTF-8 are told apart", () => {
    const bytes = Buffer.from('metadata: {name: web}\n');
    const git = execFileSync('git', ['hash-object', '--stdin'], { input: bytes }).toString().trim();
    assert.equal(blobId(bytes, git), git);
    assert.notEqual(blobId(Buffer.from('other\n'), git), git);
  });
});
