import { strict as assert } from 'node:assert';
import { shortId } from '../../../src/util/short-id.js';
import { appRepository, imageRef, repositoryOf, tagOf } from '../../../src/manifest/image-ref.js';
import { parseRevisionKey, revisionKey } from '../../../src/reconcile/core/revision.js';

describe('the spelling of ids and references', () => {
  it('shortens image and container ids as docker does, and leaves names alone', () => {
    assert.equal(shortId(`sha256:${'ab12'.repeat(16)}`), 'ab12ab12ab12');
    assert.equal(shortId('0123456789abcdef'.repeat(4)), '0123456789ab');
    assert.equal(shortId('dokku.web.1a2b3c4d5e.0'), 'dokku.web.1a2b3c4d5e.0');
    assert.equal(shortId('0123456789ab'), '0123456789ab');
  });

  it('splits a reference into repository and tag, a registry port not taken for a tag', () => {
    assert.equal(imageRef(appRepository('dokku', 'web'), 'v1'), 'dokku/web:v1');
    assert.equal(tagOf('127.0.0.1:5000/team/web:v2'), 'v2');
    assert.equal(repositoryOf('127.0.0.1:5000/team/web:v2'), '127.0.0.1:5000/team/web');
    assert.equal(tagOf('127.0.0.1:5000/team/web'), 'latest');
    assert.equal(repositoryOf('127.0.0.1:5000/team/web'), '127.0.0.1:5000/team/web');
  });

  it('reads back the revision a key names', () => {
    const revision = { specHash: '0123456789abcdef', imageId: `sha256:${'f'.repeat(64)}` };
    assert.deepEqual(parseRevisionKey(revisionKey(revision)), revision);
  });
});
