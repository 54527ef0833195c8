import { strict as assert } from 'node:assert';
import { isManifestFileName } from '../../../../src/manifest/read/ignore.js';

describe('isManifestFileName', () => {
  for (const name of ['web.yaml', 'web.yml', 'team.web.yaml', '4913.yaml', 'a-b_c.yml']) {
    it(`accepts ${name}`, () => {
      assert.equal(isManifestFileName(name), true);
    });
  }

  const ignored: Array<[string, string]> = [
    ['.web.yaml', 'hidden file'],
    ['.#web.yaml', 'Emacs lock file'],
    ['#web.yaml#', 'Emacs auto-save file'],
    ['web.yaml~', 'backup file'],
    ['.web.yaml.swp', 'vim swap file'],
    ['.web.yaml.tmp', 'atomic-write temporary'],
    ['4913', "vim's write probe"],
    ['web.yaml.bak', 'backup copy'],
    ['web.json', 'other extension'],
    ['web.YAML', 'upper-case extension'],
    ['yaml', 'no extension'],
    ['web.yaml.dpkg-old', 'package manager leftover'],
  ];
  for (const [name, why] of ignored) {
    it(`ignores ${name} (${why})`, () => {
      assert.equal(isManifestFileName(name), false);
    });
  }
});
