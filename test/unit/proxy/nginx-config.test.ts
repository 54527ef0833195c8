import { strict as assert } from 'node:assert';
import { renderServerBlock, upstreamName } from '../../../src/proxy/nginx-config.js';

describe('renderServerBlock', () => {
  const block = { namespace: 'dokku', app: 'web', listen: '127.0.0.1:8080', domains: ['web.example.test', 'www.example.test'] };

  it('balances the server block over every endpoint, in a stable order', () => {
    const text = renderServerBlock({ ...block, endpoints: ['127.0.0.1:32770', '127.0.0.1:32769'] });
    assert.match(text, /upstream berth_dokku_web \{\n {4}server 127\.0\.0\.1:32769 max_fails=0;\n {4}server 127\.0\.0\.1:32770 max_fails=0;/);
    assert.match(text, /listen 127\.0\.0\.1:8080;/);
    assert.match(text, /server_name web\.example\.test www\.example\.test;/);
    assert.match(text, /proxy_pass http:\/\/berth_dokku_web;/);
    assert.equal(text, renderServerBlock({ ...block, endpoints: ['127.0.0.1:32769', '127.0.0.1:32770'] }));
  });

  it('answers 503 when nothing serves, since nginx refuses an empty upstream', () => {
    const text = renderServerBlock({ ...block, endpoints: [] });
    assert.doesNotMatch(text, /upstream/);
    assert.match(text, /return 503;/);
  });

  it('names upstreams with characters nginx accepts', () => {
    assert.equal(upstreamName('team.a-b', 'my-app'), 'berth_team_a_b_my_app');
  });
});
