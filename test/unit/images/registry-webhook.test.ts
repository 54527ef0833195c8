/** Registry notifications read (pushedImages) and their shared secret checked (carriesSecret), on fixtures shaped as the docs show. */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { carriesSecret, pushedImages, RegistryWebhookError } from '../../../src/images/registry-webhook.js';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(resolve('test/fixtures/registry-webhooks', `${name}.json`), 'utf8')) as Record<
    string,
    unknown
  >;
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('registry notifications (pushedImages)', () => {
  it("reads the distribution registry's envelope: the manifest push, its tag and digest, the registry from request.host; layer and config blobs skipped", () => {
    assert.deepEqual(pushedImages(fixture('distribution-push')), [
      {
        registry: '127.0.0.1:5000',
        repository: 'team/web',
        tag: '1.1.1',
        digest: 'sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf',
      },
    ]);
  });

  it('counts a manifest pushed by digest (an index child) without a tag, and skips pulls and deletes', () => {
    const envelope = fixture('distribution-push') as { events: Record<string, Record<string, unknown>>[] };
    const child = clone(envelope.events[2]!);
    delete child.target!.tag;
    child.target!.mediaType = 'application/vnd.oci.image.manifest.v1+json';
    assert.deepEqual(pushedImages({ events: [child] }), [
      {
        registry: '127.0.0.1:5000',
        repository: 'team/web',
        digest: 'sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf',
      },
    ]);
    assert.deepEqual(pushedImages(fixture('distribution-pull')), []);
    assert.deepEqual(pushedImages({ events: [] }), []);
  });

  it("reads Docker Hub's push: registry docker.io, repo_name, push_data.tag (official names get library/)", () => {
    assert.deepEqual(pushedImages(fixture('docker-hub-push')), [
      { registry: 'docker.io', repository: 'acme/web', tag: '1.4.3' },
    ]);
    const official = fixture('docker-hub-push') as { repository: Record<string, unknown> };
    official.repository.repo_name = 'nginx';
    assert.deepEqual(pushedImages(official), [{ registry: 'docker.io', repository: 'library/nginx', tag: '1.4.3' }]);
  });

  it("reads Harbor's push in both formats: the registry from resource_url, a digest in the tag field as no tag; other Harbor events name no push", () => {
    assert.deepEqual(pushedImages(fixture('harbor-push')), [
      {
        registry: 'harbor.example.com',
        repository: 'team/web',
        tag: '1.4.3',
        digest: 'sha256:8a9e9863dbb6e10edb5adfe917c00da84e1700fa76e7ed02476aa6e6fb8ee0d8',
      },
    ]);
    assert.deepEqual(pushedImages(fixture('harbor-cloudevents-push')), [
      {
        registry: 'harbor.example.com:8443',
        repository: 'team/web',
        digest: 'sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4',
      },
    ]);
    assert.deepEqual(pushedImages(fixture('harbor-pull')), []);
    const v1 = fixture('harbor-push');
    v1.type = 'pushImage';
    assert.equal(pushedImages(v1).length, 1, 'Harbor 1.x named it pushImage');
  });

  it('refuses junk and wrongly typed fields, in one line', () => {
    const wrongTag = fixture('docker-hub-push') as { push_data: Record<string, unknown> };
    wrongTag.push_data.tag = 'no spaces allowed';
    const wrongRepository = fixture('harbor-push') as { event_data: { repository: Record<string, unknown> } };
    wrongRepository.event_data.repository.repo_full_name = '../../etc/passwd';
    const otherRepository = fixture('harbor-push') as { event_data: { resources: Record<string, unknown>[] } };
    otherRepository.event_data.resources[0]!.resource_url = 'harbor.example.com/team/other:1.4.3';
    const numberTag = fixture('distribution-push') as { events: { target: Record<string, unknown> }[] };
    numberTag.events[2]!.target.tag = 7;
    for (const body of [
      null,
      'push',
      [],
      42,
      {},
      { hello: 'world' },
      { events: 'all of them' },
      { events: [null] },
      { events: [{ action: 'push' }] },
      { push_data: {} },
      { type: 'PUSH_ARTIFACT', event_data: [] },
      wrongTag,
      wrongRepository,
      otherRepository,
      numberTag,
    ]) {
      assert.throws(
        () => pushedImages(body),
        (error: unknown) => error instanceof RegistryWebhookError && !error.message.includes('\n'),
        JSON.stringify(body).slice(0, 80),
      );
    }
  });

  it('considers at most 1,000 events', () => {
    const push = (fixture('distribution-push') as { events: Record<string, Record<string, unknown>>[] }).events[2]!;
    const events = Array.from({ length: 5_000 }, (_, i) => {
      const event = clone(push);
      event.target!.tag = `t${i}`;
      return event;
    });
    const pushed = pushedImages({ events });
    assert.equal(pushed.length, 1_000);
    assert.equal(pushed.at(-1)?.tag, 't999');
  });
});

describe('the shared secret (carriesSecret)', () => {
  const secret = Buffer.from('hook-S3cret-77');

  it('accepts "Bearer <secret>" (any case, as the distribution registry is configured to send) and the secret verbatim (as Harbor sends its auth header)', () => {
    assert.equal(carriesSecret('Bearer hook-S3cret-77', secret), true);
    assert.equal(carriesSecret('bearer hook-S3cret-77', secret), true);
    assert.equal(carriesSecret('hook-S3cret-77', secret), true);
  });

  it('refuses anything else: none, a wrong or partial secret, another scheme, an empty secret', () => {
    for (const header of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      'Bearer hook-S3cret-7',
      'Bearer hook-S3cret-777',
      'hook-S3cret-77 ',
      `Basic ${Buffer.from('x:hook-S3cret-77').toString('base64')}`,
      'Bearer Bearer hook-S3cret-77',
    ])
      assert.equal(carriesSecret(header, secret), false, String(header));
    assert.equal(carriesSecret('', Buffer.alloc(0)), false);
    assert.equal(carriesSecret('Bearer ', Buffer.alloc(0)), false);
  });
});
