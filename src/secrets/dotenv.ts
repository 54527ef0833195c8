/**
 * A dotenv file's variables (`KEY=value`, `export KEY=value`, `#` comments, blank lines, values in
 * single quotes taken as written, in double quotes with `\n`, `\"` and `\\` escapes). Pure; a line it
 * cannot read is an error naming the line, never the value.
 */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseDotenv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const body = line.startsWith('export ') ? line.slice('export '.length).trimStart() : line;
    const eq = body.indexOf('=');
    const name = eq < 0 ? '' : body.slice(0, eq).trim();
    if (!NAME.test(name)) throw new Error(`line ${index + 1} is not NAME=value`);
    env[name] = valueOf(body.slice(eq + 1).trim(), index + 1);
  });
  return env;
}

function valueOf(text: string, line: number): string {
  const quote = text[0];
  if (quote === "'" || quote === '"') {
    const end = text.lastIndexOf(quote);
    if (end === 0) throw new Error(`line ${line}: the quote is not closed`);
    const inner = text.slice(1, end);
    return quote === "'" ? inner : inner.replace(/\\(n|"|\\)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
  }
  const comment = text.search(/\s#/);
  return (comment < 0 ? text : text.slice(0, comment)).trim();
}
