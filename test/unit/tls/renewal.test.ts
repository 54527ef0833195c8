import { strict as assert } from 'node:assert';
import { candidateNames, covers, nameOfFile } from '../../../src/tls/domain-names.js';
import { renewAt, retryDelayMs } from '../../../src/tls/renewal.js';

const DAY = 86_400_000;

describe('certificate renewal and retries (pure)', () => {
  it('renews 30 days before expiry, or at two thirds of a shorter lifetime', () => {
    assert.equal(renewAt(0, 90 * DAY), 60 * DAY, "a Let's Encrypt 90-day certificate at day 60");
    assert.equal(renewAt(0, 365 * DAY), 335 * DAY);
    assert.equal(renewAt(1_000, 31_000), 21_000, 'a 30 s certificate 10 s before it ends');
  });

  it('retries an unreachable CA soon, a refusing one slowly (its rate limits), and honours Retry-After', () => {
    assert.deepEqual(
      [1, 2, 3, 10].map((n) => retryDelayMs(n, false)),
      [5_000, 10_000, 20_000, 300_000],
    );
    assert.deepEqual(
      [1, 2, 7, 20].map((n) => retryDelayMs(n, true)),
      [60_000, 120_000, 3_600_000, 3_600_000],
    );
    assert.equal(retryDelayMs(1, true, 7_200), 7_200_000);
    assert.equal(retryDelayMs(3, true, 10), 240_000, 'a shorter Retry-After does not shorten the backoff');
  });
});

describe('certificate names', () => {
  it('reads _.example.com files as *.example.com, which covers one label only', () => {
    assert.equal(nameOfFile('_.example.com'), '*.example.com');
    assert.equal(nameOfFile('web.example.com'), 'web.example.com');
    assert.deepEqual(candidateNames('web.example.com'), ['web.example.com', '*.example.com']);
    assert.ok(covers('*.example.com', 'web.example.com'));
    assert.ok(!covers('*.example.com', 'a.web.example.com'));
    assert.ok(!covers('*.example.com', 'example.com'));
  });
});
