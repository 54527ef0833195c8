import { strict as assert } from 'node:assert';
import { parseDotenv } from '../../../src/secrets/dotenv.js';

describe('dotenv files (parseDotenv)', () => {
  it('reads NAME=value, export, quotes, escapes, comments and blank lines', () => {
    const text = ['# db', 'DB_PASSWORD=s3cret', 'export API_TOKEN="a b\\nc"', "RAW='x\\ny # not a comment'", 'HOST=db.internal # the primary', '', 'EMPTY='].join('\n');
    assert.deepEqual(parseDotenv(text), { DB_PASSWORD: 's3cret', API_TOKEN: 'a b\nc', RAW: 'x\\ny # not a comment', HOST: 'db.internal', EMPTY: '' });
  });

  it('names the line it cannot read, never its value', () => {
    assert.throws(() => parseDotenv('OK=1\nnot a variable s3cret'), (error: Error) => error.message === 'line 2 is not NAME=value');
    assert.throws(() => parseDotenv('A="unclosed'), /line 1: the quote is not closed/);
  });
});
