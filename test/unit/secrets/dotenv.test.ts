import { strict as assert } from 'node:assert';
import { parse } from 'dotenv';
import { parseDotenv } from '../../../src/secrets/dotenv.js';

/** Each case as the `dotenv` package reads it (its `parse` is the reference), and what that is. */
const CASES: [what: string, text: string, expected: Record<string, string>][] = [
  ['NAME=value', 'BASIC=basic', { BASIC: 'basic' }],
  ['blank lines and comment lines', '\n# db\n\n  # indented comment\nA=1\n\n', { A: '1' }],
  [
    'an inline comment after an unquoted value, which ends at the #',
    'SECRET_KEY=YOURSECRETKEYGOESHERE # comment\nB=x#y',
    { SECRET_KEY: 'YOURSECRETKEYGOESHERE', B: 'x' },
  ],
  [
    'a # inside quotes',
    'SECRET_HASH="something-with-a-#-hash" # a comment\nS=\'#\'',
    { SECRET_HASH: 'something-with-a-#-hash', S: '#' },
  ],
  [
    'empty values',
    'EMPTY=\nEMPTY_SINGLE=\'\'\nEMPTY_DOUBLE=""\nSPACES=   \nNEXT=1',
    { EMPTY: '', EMPTY_SINGLE: '', EMPTY_DOUBLE: '', SPACES: '', NEXT: '1' },
  ],
  ['inner quotes kept', 'JSON={"foo": "bar"}', { JSON: '{"foo": "bar"}' }],
  [
    'unquoted values trimmed, quoted ones not',
    'FOO=  some value  \nBAR="  some value  "\nBAZ=\'  x  \'',
    { FOO: 'some value', BAR: '  some value  ', BAZ: '  x  ' },
  ],
  [
    'single and double quotes and backticks',
    'SINGLE_QUOTE=\'quoted\'\nDOUBLE="quoted"\nBACKTICK_KEY=`This has \'single\' and "double" quotes inside of it.`',
    { SINGLE_QUOTE: 'quoted', DOUBLE: 'quoted', BACKTICK_KEY: 'This has \'single\' and "double" quotes inside of it.' },
  ],
  [
    '\\n expanded in double quotes only',
    'MULTILINE="new\\nline"\nRAW=\'new\\nline\'\nPLAIN=new\\nline',
    { MULTILINE: 'new\nline', RAW: 'new\\nline', PLAIN: 'new\\nline' },
  ],
  [
    'a multi-line value in double quotes (a PEM key), and the lines after it',
    'PRIVATE_KEY="-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyu\n# not a comment inside quotes\nKh9NV=...\n-----END RSA PRIVATE KEY-----"\nAFTER=1',
    {
      PRIVATE_KEY:
        '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyu\n# not a comment inside quotes\nKh9NV=...\n-----END RSA PRIVATE KEY-----',
      AFTER: '1',
    },
  ],
  [
    'multi-line in single quotes and backticks too',
    "A='one\ntwo'\nB=`three\nfour`",
    { A: 'one\ntwo', B: 'three\nfour' },
  ],
  ['export', 'export API_TOKEN="a b"\nexport   PLAIN=x', { API_TOKEN: 'a b', PLAIN: 'x' }],
  [
    'NAME: value, and names with . and -',
    'YAML_STYLE: yes\nspring.datasource.url=jdbc:x\nkebab-name=1',
    { YAML_STYLE: 'yes', 'spring.datasource.url': 'jdbc:x', 'kebab-name': '1' },
  ],
  ['spaces around =', 'A = 1\nB= "2"', { A: '1', B: '2' }],
  ['a name given twice: the last value', 'A=1\nA=2', { A: '2' }],
  ['= in a value', 'URL=postgres://u:p@h/db?sslmode=require&a=b', { URL: 'postgres://u:p@h/db?sslmode=require&a=b' }],
  ['CRLF line ends', 'A=1\r\nB="x\r\ny"\r\n', { A: '1', B: 'x\ny' }],
  ['an unclosed quote: taken as written, quote and all', 'A="unclosed\nB=2', { A: '"unclosed', B: '2' }],
  ['escaped quotes are kept as written', 'A="say \\"hi\\""', { A: 'say \\"hi\\"' }],
];

describe("dotenv files (parseDotenv): the dotenv package's rules", () => {
  for (const [what, text, expected] of CASES) {
    it(`reads ${what} as dotenv.parse does`, () => {
      assert.deepEqual({ ...parse(text) }, expected, 'the reference');
      assert.deepEqual(parseDotenv(text), expected);
    });
  }

  it('refuses a line dotenv would skip, naming its number and never its text', () => {
    const refused: [string, number][] = [
      ['OK=1\nnot a variable s3cret', 2],
      ['s3cret-without-a-name', 1],
      ['A=1\n=s3cret', 2],
      ['A B=s3cret', 1],
      ['export', 1],
      ['A=1\n\n  # comment\nJUST_A_NAME', 4],
      ['KEY="-----BEGIN KEY-----\nabc\n-----END KEY-----"\nA=1\n  s3cret line', 5],
      ['A=1\r\nB=2\r\n:s3cret\r\n', 3],
    ];
    for (const [text, line] of refused) {
      assert.deepEqual(Object.keys(parse(text)).includes('s3cret'), false);
      assert.throws(
        () => parseDotenv(text),
        (error: Error) => error.message === `line ${line} is not NAME=value`,
        JSON.stringify(text),
      );
    }
  });

  it('reads a file whose every line is blank or a comment as no variable', () => {
    assert.deepEqual(parseDotenv(''), {});
    assert.deepEqual(parseDotenv('# only\n\n   \n'), {});
  });
});
