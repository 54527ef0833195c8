/** Renders one app's nginx server block. Pure: same inputs, same text. */

export interface ServerBlock {
  namespace: string;
  app: string;
  /** `80`, `127.0.0.1:8080`, `[::1]:80`: nginx `listen` syntax. */
  listen: string;
  domains: string[];
  /** `127.0.0.1:<port>` of each serving container; none means the app answers 503. */
  endpoints: string[];
}

export function upstreamName(namespace: string, app: string): string {
  return `berth_${namespace}_${app}`.replace(/[^A-Za-z0-9_]/g, '_');
}

export function renderServerBlock(block: ServerBlock): string {
  const upstream = upstreamName(block.namespace, block.app);
  const header = `# Written by berth for app "${block.app}" (namespace ${block.namespace}); berth rewrites this file.\n`;
  const server = (body: string[]) =>
    ['server {', `    listen ${block.listen};`, `    server_name ${block.domains.join(' ')};`, ...body.map((l) => `    ${l}`), '}', ''].join('\n');
  if (block.endpoints.length === 0) return header + server(['return 503;']);
  const upstreamBlock = [`upstream ${upstream} {`, ...[...block.endpoints].sort().map((e) => `    server ${e} max_fails=0;`), '    keepalive 16;', '}', ''].join('\n');
  return (
    header +
    upstreamBlock +
    server([
      'location / {',
      `    proxy_pass http://${upstream};`,
      '    proxy_http_version 1.1;',
      '    proxy_set_header Connection "";',
      '    proxy_set_header Host $host;',
      '    proxy_set_header X-Real-IP $remote_addr;',
      '    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      '    proxy_set_header X-Forwarded-Proto $scheme;',
      '    proxy_next_upstream error timeout http_502 http_503;',
      '}',
    ])
  );
}
