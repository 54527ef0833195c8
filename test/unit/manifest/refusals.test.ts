import { strict as assert } from 'node:assert';
import {
  closeSync,
  cpSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../../src/cli/main.js';
import { analyzeManifestText } from '../../../src/manifest/read/analyze.js';
import { ManifestDirectory, loadPaths } from '../../../src/manifest/read/load.js';
import { formatProblem, type LoadOptions } from '../../../src/manifest/types.js';

/**
 * The refusal corpus: inputs berth must refuse, each with exactly what `berth validate` prints.
 * Small cases are files in test/fixtures/refusals/; huge, binary and symlink cases are
 * generated into a temporary directory. Every case is validated twice: through the loader
 * (which must not throw) and through the real `validate` command.
 */

const CORPUS = path.resolve('test/fixtures/refusals');
const ALLOWED_HOST_PATH = '/srv/berth';
const OPTIONS: LoadOptions = { namespace: 'dokku', allowHostPaths: [ALLOWED_HOST_PATH] };
const MIB = 1024 * 1024;

const APP_NAME_RULE = "lowercase letters, digits and '-', 1-63 characters, starting and ending with a letter or digit";
const TAG_RULE = "letters, digits, '_', '.' and '-', up to 128 characters, not starting with '.' or '-'";
const SYMLINK_OUT = 'symlink points outside the manifest directory';

function manifest(name: string, tag = 'v1'): string {
  return `apiVersion: berth/v1\nkind: App\nmetadata:\n  name: ${name}\nspec:\n  tag: ${tag}\n`;
}

/** Deterministic pseudo-random bytes (xorshift32): the same "random" file on every run. */
function pseudoRandomBytes(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/** Writes a manifest padded with comment lines to exactly `size` bytes, one MiB at a time. */
function writeHugeManifest(file: string, size: number): void {
  const fd = openSync(file, 'w');
  try {
    let written = writeSync(fd, manifest('huge'));
    const padding = Buffer.from('# padding\n'.repeat(MIB / 10));
    while (written < size) written += writeSync(fd, padding, 0, Math.min(padding.length, size - written));
  } finally {
    closeSync(fd);
  }
}

interface RefusalCase {
  /** What is refused, for the test titles. */
  what: string;
  /** Creates the case at `target` (in a temporary directory); absent for the files in CORPUS. */
  generate?: (target: string) => void;
  /**
   * Every line `berth validate --allow-host-path /srv/berth <target>` prints, given the
   * case's path; `lines(...)` prefixes single-file lines with the file.
   */
  expected: (target: string) => string[];
  /** Apps that stay valid next to the refused ones. */
  keptApps?: string[];
}

const lines =
  (...rest: string[]) =>
  (file: string): string[] =>
    rest.map((line) => `${file}:${line}`);

/** The cases in test/fixtures/refusals/, by name. */
const CORPUS_CASES: Record<string, RefusalCase> = {
  'alias-bomb.yaml': {
    what: 'a YAML alias bomb ("billion laughs")',
    expected: lines('17:17: more than 64 aliases (*name) in one document are not allowed'),
  },
  'nesting-5000-deep.yaml': {
    what: 'a list nested 5,000 levels deep',
    expected: lines('8:77: nesting deeper than 64 levels (mappings and lists inside one another) is not allowed'),
  },
  'wrong-types.yaml': {
    what: 'values of the wrong type',
    expected: lines(
      '4:9: metadata.name: must be a string, not a list',
      '6:8: spec.tag: must be a string; write it in quotes: "2"',
      '7:13: spec.replicas: must be an integer of at least 0, not a string',
      '8:8: spec.env: must be a mapping, not a list',
      '9:10: spec.ports: must be a list, not a number',
      '13:17: spec.volumes[0].readOnly: must be true or false, not a string',
      '14:11: spec.checks: must be a mapping, not a boolean',
    ),
  },
  'unknown-field-privileged.yaml': {
    what: 'an unknown field (privileged: true)',
    expected: lines('7:3: spec.privileged: unknown field'),
  },
  'name-upper-case.yaml': {
    what: 'an app name with upper case',
    expected: lines(`4:9: metadata.name: "Web" is not a valid app name (${APP_NAME_RULE})`),
  },
  'name-dot-dot.yaml': {
    what: 'the app name ".."',
    expected: lines(`4:9: metadata.name: ".." is not a valid app name (${APP_NAME_RULE})`),
  },
  'name-slash.yaml': {
    what: "an app name with '/' (a path)",
    expected: lines(`4:9: metadata.name: "../etc/cron.d/web" is not a valid app name (${APP_NAME_RULE})`),
  },
  'name-64-characters.yaml': {
    what: 'an app name of 64 characters',
    expected: lines(`4:9: metadata.name: "${'a'.repeat(64)}" is not a valid app name (${APP_NAME_RULE})`),
  },
  'tag-semicolon.yaml': {
    what: "a tag with ';' (a shell command)",
    expected: lines(`6:8: spec.tag: "v1;docker rm -f $(docker ps -q)" is not a valid image tag (${TAG_RULE})`),
  },
  'tag-space.yaml': {
    what: 'a tag with a space',
    expected: lines(`6:8: spec.tag: "v1 latest" is not a valid image tag (${TAG_RULE})`),
  },
  'host-path-docker-socket.yaml': {
    what: 'the Docker socket as a host-path volume, directly and through ".."',
    expected: lines(
      '8:15: spec.volumes[0].source: host path "/var/run/docker.sock" is not under an --allow-host-path prefix (given: /srv/berth)',
      '10:15: spec.volumes[1].source: host path "/srv/berth/../../run/docker.sock" (/run/docker.sock) is not under an --allow-host-path prefix (given: /srv/berth)',
    ),
  },
  'host-path-root.yaml': {
    what: 'the host root "/" as a volume',
    expected: lines(
      '8:15: spec.volumes[0].source: host path "/" is not under an --allow-host-path prefix (given: /srv/berth)',
    ),
  },
  'host-path-etc.yaml': {
    what: 'the host /etc as a volume',
    expected: lines(
      '8:15: spec.volumes[0].source: host path "/etc" is not under an --allow-host-path prefix (given: /srv/berth)',
    ),
  },
  'image-policy-not-a-range.yaml': {
    what: 'an image policy whose semver is not a range',
    expected: lines('9:13: spec.imagePolicy.semver: "not a range" is not a semver range'),
  },
  'image-policy-pattern-without-key.yaml': {
    what: 'an image policy pattern without the group named key',
    expected: lines(
      '9:14: spec.imagePolicy.pattern: "^main-([0-9]+)-[0-9a-f]{7}$" has no group named "key"; write (?P<key>...) around the part tags sort by',
    ),
  },
  'canary-with-recreate.yaml': {
    what: 'a canary with deploy.strategy: recreate',
    expected: lines(
      '11:5: spec.deploy.canary: a canary runs the old and the new revision side by side, and deploy.strategy: recreate stops the old containers first; remove one of them',
    ),
  },
  'canary-without-route.yaml': {
    what: 'a canary for an app nginx routes under no domain',
    expected: lines(
      "9:5: spec.deploy.canary: a canary is a split in berth's nginx, and nginx routes this app under no domain; add spec.domains, or run with --proxy nginx --domain D (validate --domain D)",
    ),
  },
  'duplicate-app': {
    what: 'an app name defined in two files',
    expected: (dir) => {
      const [a, b] = [path.join(dir, 'a.yaml'), path.join(dir, 'b.yaml')];
      return [`${a}:4:9: app "web" is also defined in ${b}:5:9`, `${b}:5:9: app "web" is also defined in ${a}:4:9`];
    },
  },
};

/** The cases written at run time, by the name they get in the temporary directory. */
const GENERATED_CASES: Record<string, RefusalCase> = {
  'random-bytes.yaml': {
    what: '64 KiB of random bytes',
    generate: (file) => writeFileSync(file, pseudoRandomBytes(64 * 1024, 20240601)),
    expected: lines('1:1: not a text file (not valid UTF-8)'),
  },
  'fifty-megabytes.yaml': {
    what: 'a 50 MB file, by its size limit',
    generate: (file) => writeHugeManifest(file, 50 * MIB),
    expected: lines('1:1: file is larger than 1 MiB'),
  },
  'symlink-out': {
    what: 'a file and a directory symlinked out of the manifest directory',
    generate: (dir) => {
      const outside = path.join(path.dirname(dir), 'outside');
      mkdirSync(path.join(outside, 'apps'), { recursive: true });
      writeFileSync(path.join(outside, 'secret.yaml'), manifest('secret'));
      writeFileSync(path.join(outside, 'apps', 'elsewhere.yaml'), manifest('elsewhere'));
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'good.yaml'), manifest('good'));
      symlinkSync(path.join(outside, 'secret.yaml'), path.join(dir, 'escape.yaml'));
      symlinkSync(path.join(outside, 'apps'), path.join(dir, 'escape-dir'));
    },
    expected: (dir) => [
      `${path.join(dir, 'escape-dir')}:1:1: ${SYMLINK_OUT}`,
      `${path.join(dir, 'escape.yaml')}:1:1: ${SYMLINK_OUT}`,
    ],
    keptApps: ['good'],
  },
  'line\nbreak.yaml': {
    what: 'a bad manifest whose file name has a line break, still on one line per problem',
    generate: (file) => writeFileSync(file, manifest('web', '"v1 latest"')),
    expected: (file) => [
      `${file.replace('\n', '\\n')}:6:8: spec.tag: "v1 latest" is not a valid image tag (${TAG_RULE})`,
    ],
  },
};

interface Validation {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `berth validate ARGS...` in-process, capturing what it prints. */
async function validate(...args: string[]): Promise<Validation> {
  const output = { stdout: '', stderr: '' };
  const code = await main(['validate', ...args], {
    stdout: (text) => (output.stdout += text),
    stderr: (text) => (output.stderr += text),
  });
  return { code, ...output };
}

describe('refusal corpus', () => {
  let scratch: string;
  const targets = new Map<string, { target: string; refusal: RefusalCase }>();

  before(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'berth-refusals-'));
    for (const [name, refusal] of Object.entries(CORPUS_CASES))
      targets.set(name, { target: path.join(CORPUS, name), refusal });
    for (const [name, refusal] of Object.entries(GENERATED_CASES)) {
      const target = path.join(scratch, name);
      refusal.generate?.(target);
      targets.set(name, { target, refusal });
    }
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('has an expectation for every case in test/fixtures/refusals/', () => {
    const cases = readdirSync(CORPUS).filter((name) => name !== 'README.md');
    assert.deepEqual(cases.sort(), Object.keys(CORPUS_CASES).sort());
  });

  for (const [name, refusal] of [...Object.entries(CORPUS_CASES), ...Object.entries(GENERATED_CASES)]) {
    describe(refusal.what, () => {
      it('is refused by the loader with one exact line per problem, keeping any good app beside it', async () => {
        const { target } = targets.get(name)!;
        const set = await loadPaths([target], OPTIONS);
        assert.deepEqual(set.problems.map(formatProblem), refusal.expected(target));
        assert.deepEqual([...set.apps.keys()].sort(), refusal.keptApps ?? []);
      });

      it('makes `berth validate` exit 1, naming the file on each line, without a stack trace', async () => {
        const { target } = targets.get(name)!;
        const { code, stdout, stderr } = await validate('--allow-host-path', ALLOWED_HOST_PATH, target);
        const expected = refusal.expected(target);
        assert.equal(code, 1);
        assert.equal(stdout, expected.map((line) => `${line}\n`).join(''));
        const shownTarget = target.replace('\n', '\\n');
        for (const line of stdout.trimEnd().split('\n'))
          assert.ok(line.startsWith(shownTarget), `${line} does not name ${shownTarget}`);
        const files = new Set(expected.map((line) => line.slice(0, line.indexOf(':', shownTarget.length))));
        assert.equal(stderr, `${expected.length} problem(s) in ${files.size} file(s)\n`);
        assert.ok(!`${stdout}${stderr}`.includes('\n    at '), 'no stack trace');
      });
    });
  }

  it('says that no --allow-host-path was given when a host path is refused without one', async () => {
    const file = path.join(CORPUS, 'host-path-docker-socket.yaml');
    const { code, stdout } = await validate(file);
    assert.equal(code, 1);
    assert.equal(
      stdout.split('\n')[0],
      `${file}:8:15: spec.volumes[0].source: host path "/var/run/docker.sock" is not under an --allow-host-path prefix (none is given)`,
    );
  });

  it('keeps every good app unchanged when all the refused files arrive in a watched directory', async () => {
    const dir = path.join(scratch, 'watched');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'steady.yaml'), manifest('steady'));
    const manifests = new ManifestDirectory(dir, OPTIONS);
    const before = await manifests.read();
    assert.deepEqual([[...before.apps.keys()], before.problems], [['steady'], []]);

    cpSync(CORPUS, dir, { recursive: true });
    linkSync(path.join(scratch, 'fifty-megabytes.yaml'), path.join(dir, 'fifty-megabytes.yaml'));
    writeFileSync(path.join(dir, 'random-bytes.yaml'), pseudoRandomBytes(64 * 1024, 20240601));
    symlinkSync(path.join(scratch, 'symlink-out', 'escape.yaml'), path.join(dir, 'escape.yaml'));
    const after = await manifests.read();

    assert.equal(after.apps.get('steady'), before.apps.get('steady'), 'the same App object: untouched');
    assert.deepEqual([...after.apps.keys()], ['steady']);
    const refusedFiles = new Set(after.problems.map((p) => path.relative(dir, p.file)));
    const expectedFiles = [
      ...Object.keys(CORPUS_CASES).filter((name) => name !== 'duplicate-app'),
      'duplicate-app/a.yaml',
      'duplicate-app/b.yaml',
    ];
    assert.deepEqual(
      [...refusedFiles].sort(),
      [...expectedFiles, 'escape.yaml', 'fifty-megabytes.yaml', 'random-bytes.yaml'].sort(),
    );
  });
});

/**
 * Limits that bound the memory and time any file costs. No timings are asserted: each input
 * here would take minutes or gigabytes without its limit, far beyond the suite's timeout.
 */
describe('parse limits', () => {
  const analyze = (text: string) => {
    const analysis = analyzeManifestText(text, 'm.yaml', OPTIONS);
    return [...analysis.problems, ...analysis.documents.flatMap((d) => (d.result.ok ? [] : d.result.problems))].map(
      formatProblem,
    );
  };
  const header = manifest('web');

  it('refuses 5,000 levels of block sequences and of flow mappings like 5,000 nested lists', () => {
    assert.deepEqual(analyze(`${header}  command:\n    ${'- '.repeat(5000)}x\n`), [
      'm.yaml:8:135: nesting deeper than 64 levels (mappings and lists inside one another) is not allowed',
    ]);
    assert.deepEqual(analyze(`${header}  env: ${'{a: '.repeat(5000)}1${'}'.repeat(5000)}\n`), [
      'm.yaml:7:265: nesting deeper than 64 levels (mappings and lists inside one another) is not allowed',
    ]);
  });

  it('reports an alias bomb within the alias limit without expanding it (2^32 strings if it were)', () => {
    const doublings = Array.from({ length: 31 }, (_, i) => `    - &l${i + 1} [*l${i}, *l${i}]\n`).join('');
    const text = `${header}  command:\n    - &l0 [lol, lol]\n${doublings}`;
    const problems = analyze(text);
    assert.equal(problems.length, 32);
    assert.equal(problems[0], 'm.yaml:8:11: spec.command[0]: must be a string, not a list');
    assert.equal(problems[31], 'm.yaml:39:12: spec.command[31]: must be a string, not a list');
  });

  it('refuses a file of more than 20000 YAML nodes at the first node beyond the limit', () => {
    const items = Array.from({ length: 20_000 }, () => '    - x\n').join('');
    assert.deepEqual(analyze(`${header}  command:\n${items}`), [
      'm.yaml:19993:7: more than 20000 YAML nodes (keys, values and list items) in one file are not allowed',
    ]);
  });

  it("reads thousands of children under a very long key (every child's path repeats the key)", () => {
    const key = 'k'.repeat(20_000);
    const problems = analyze(`${header}${key}: [${'1, '.repeat(2_000)}1]\n`);
    assert.deepEqual(problems, [`m.yaml:7:1: ["${'k'.repeat(100)}"… (20000 characters)]: unknown field`]);
  });

  it('cuts a value 200,000 characters long to its first 100 in the message', () => {
    const problems = analyze(manifest('web', 'x'.repeat(200_000)));
    assert.deepEqual(problems, [
      `m.yaml:6:8: spec.tag: "${'x'.repeat(100)}"… (200000 characters) is not a valid image tag (${TAG_RULE})`,
    ]);
  });

  it('escapes line breaks and control characters in quoted values, keys and YAML errors', () => {
    assert.deepEqual(analyze(`${header}  volumes: [{source: "/etc\\nx\\u2028", target: /x}]\n`), [
      'm.yaml:7:22: spec.volumes[0].source: host path "/etc\\nx\\u2028" is not under an --allow-host-path prefix (given: /srv/berth)',
    ]);
    assert.deepEqual(analyze(`${header}  env: {"A\\u0085B": x}\n`), [
      `m.yaml:7:9: spec.env: "A\\u0085B" is not a valid environment variable name (letters, digits and '_', not starting with a digit)`,
    ]);
    assert.deepEqual(analyze(`${header}  image: !<x%0Ay> web\n`), [
      'm.yaml:7:10: invalid YAML: unknown scalar tag !<x\\ny>',
    ]);
  });
});
