import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { EVENT_ID, getScalarValue, parseEvents } from 'js-yaml';
import { analyzeFile, analyzeTokenizedFiles, type AnalyzeJob } from '../../../src/manifest/read/analyze-file.js';
import {
  EventWriter,
  STRIDE,
  decodeEvents,
  eventsOf,
  packEvents,
  scalarTextAt,
} from '../../../src/manifest/packed-events.js';
import { readManifestFile } from '../../../src/manifest/read/read-file.js';
import { tokenizeText } from '../../../src/manifest/read/tokenize-file.js';
import { CORPUS, anyYaml } from '../../support/yaml-corpus.js';

function roundTrip(text: string): void {
  const events = parseEvents(text, {});
  assert.deepEqual(decodeEvents(packEvents(events)), events, JSON.stringify(text));
}

/** Every scalar's text read where it lies in the packed events is what js-yaml's getScalarValue gives. */
function scalarsAgree(text: string): void {
  const events = parseEvents(text, {});
  const packed = packEvents(events);
  events.forEach((event, i) => {
    if (event.type === EVENT_ID.SCALAR)
      assert.equal(scalarTextAt(text, packed.slots, i * STRIDE), getScalarValue(text, event), JSON.stringify(text));
  });
}

describe('packed parser events', () => {
  it('decode to exactly the events js-yaml made', () => {
    for (const text of CORPUS) roundTrip(text);
    fc.assert(fc.property(anyYaml, roundTrip), { numRuns: 200 });
  });

  it('give every scalar the text js-yaml gives it', () => {
    for (const text of CORPUS) scalarsAgree(text);
    fc.assert(fc.property(anyYaml, scalarsAgree), { numRuns: 200 });
  });

  it('decode per file from a buffer shared by a chunk of files', () => {
    const writer = new EventWriter(1);
    const ends = CORPUS.map((text) => writer.write(parseEvents(text, {})));
    const buffer = writer.finish();
    CORPUS.forEach((text, i) => {
      assert.deepEqual(
        decodeEvents(eventsOf(buffer, i === 0 ? 0 : (ends[i - 1] as number), ends[i] as number)),
        parseEvents(text, {}),
      );
    });
  });

  it('read and tokenized on another thread than the one that analyzes give what analyzing in one go gives', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-tokenized-'));
    try {
      const texts = [
        ...CORPUS,
        'apiVersion: berth/v1\nkind: App\nmetadata:\n  name: web\nspec:\n  tag: v1\n  replicas: -1\n',
        'apiVersion: berth/v1\nkind: App\nmetadata:\n  name: api\nspec:\n  tag: [unclosed\n',
        'apiVersion: berth/v1\nkind: App\nmetadata:\n  name: tabbed\nspec:\n\ttag: v1\n',
        'a: &a [*a]\n',
        `a: ${'['.repeat(70)}${']'.repeat(70)}\n`,
        `a: &x 1\n${Array.from({ length: 70 }, (_, i) => `k${i}: *x`).join('\n')}\n`,
      ];
      await Promise.all(texts.map((text, i) => writeFile(join(dir, `${i}.yaml`), text)));
      // A file that cannot be read sits among the others: only the texts read are tokenized, and the tokens still line up.
      const jobs: AnalyzeJob[] = [...texts.keys()]
        .flatMap((i) => (i === 2 ? ['missing', i] : [i]))
        .map((i) => ({ file: `m/${i}.yaml`, realPath: join(dir, `${i}.yaml`), formerApps: ['api'] }));
      const options = { namespace: 'berth', allowHostPaths: [] };
      const writer = new EventWriter(1);
      const reads = jobs.map((job) => readManifestFile(job.realPath));
      const files = reads.flatMap((read) => ('text' in read ? [tokenizeText(read.text, writer)] : []));
      assert.deepEqual(
        analyzeTokenizedFiles(jobs, reads, files, writer.finish(), options),
        jobs.map((job) => analyzeFile(job, options)),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
