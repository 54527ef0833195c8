/**
 * The `Link` header (RFC 8288) as the Registry HTTP API paginates with it:
 * `</v2/team/web/tags/list?last=v9&n=1000>; rel="next"`. Only the target whose `rel` names `next`
 * matters; it is returned as written (relative or absolute), for the caller to resolve and judge.
 * A header over 8 KiB, or one that is not a list of `<target>` with parameters, is refused. Pure.
 */

const MAX_HEADER = 8 * 1024;
const PARAM_NAME = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
const BARE_VALUE = /[^\s;,]*/y;

export class LinkSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinkSyntaxError';
  }
}

/** The target of the link whose `rel` includes `next`, or undefined when none has. */
export function nextLink(header: string | null | undefined): string | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  if (header.length > MAX_HEADER) throw new LinkSyntaxError(`over ${MAX_HEADER} characters`);
  let pos = 0;
  const skipSpace = () => {
    while (pos < header.length && /[ \t]/.test(header[pos] ?? '')) pos += 1;
  };
  for (;;) {
    skipSpace();
    if (header[pos] !== '<') throw new LinkSyntaxError(`expected "<" at character ${pos + 1}`);
    const close = header.indexOf('>', pos);
    if (close < 0) throw new LinkSyntaxError('an unterminated <target>');
    const target = header.slice(pos + 1, close);
    if (/[\u0000-\u0020\u007f<]/.test(target)) throw new LinkSyntaxError('a target with spaces or control characters');
    pos = close + 1;
    let isNext = false;
    for (;;) {
      skipSpace();
      if (header[pos] !== ';') break;
      pos += 1;
      skipSpace();
      PARAM_NAME.lastIndex = pos;
      const name = PARAM_NAME.exec(header)?.[0];
      if (name === undefined) throw new LinkSyntaxError(`expected a parameter name at character ${pos + 1}`);
      pos += name.length;
      skipSpace();
      let value = '';
      if (header[pos] === '=') {
        pos += 1;
        skipSpace();
        if (header[pos] === '"') {
          const end = header.indexOf('"', pos + 1);
          if (end < 0) throw new LinkSyntaxError('an unterminated quoted value');
          value = header.slice(pos + 1, end);
          pos = end + 1;
        } else {
          BARE_VALUE.lastIndex = pos;
          value = BARE_VALUE.exec(header)?.[0] ?? '';
          pos += value.length;
        }
      }
      if (
        name.toLowerCase() === 'rel' &&
        value
          .toLowerCase()
          .split(/[ \t]+/)
          .includes('next')
      )
        isNext = true;
    }
    if (isNext) return target;
    skipSpace();
    if (pos >= header.length) return undefined;
    if (header[pos] !== ',') throw new LinkSyntaxError(`expected "," at character ${pos + 1}`);
    pos += 1;
  }
}
