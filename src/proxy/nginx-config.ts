/**
 * Renders one app's nginx server blocks. Pure: same inputs, same text. With TLS, a domain that has
 * a certificate is served on the TLS listener and its plain listener redirects to HTTPS; a domain
 * without one is served over plain HTTP as before. The plain listener always answers ACME
 * challenges from the challenge root, redirected or not.
 */
import type { ProxyTls, ServedCertificate } from './types.js';
import { blockHeader, upstreamName } from './nginx-names.js';

export { upstreamName };

interface ServerBlock {
  namespace: string;
  app: string;
  /** `80`, `127.0.0.1:8080`, `[::1]:80`: nginx `listen` syntax. */
  listen: string;
  domains: string[];
  /** `127.0.0.1:<port>` of each serving container; none means the app answers 503. */
  endpoints: string[];
  /** Servers nginx tries only once every endpoint failed a request (nginx `backup`): the previous revision while the new one is watched. */
  backups?: readonly string[];
  tls?: ProxyTls;
}

export function renderServerBlock(block: ServerBlock): string {
  const upstream = upstreamName(block.namespace, block.app);
  const header = blockHeader(block.namespace, block.app);
  const served =
    block.endpoints.length === 0
      ? ['return 503;']
      : [
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
        ];
  const upstreamBlock =
    block.endpoints.length === 0
      ? ''
      : [
          `upstream ${upstream} {`,
          ...[...block.endpoints].sort().map((e) => `    server ${e} max_fails=0;`),
          ...[...(block.backups ?? [])]
            .filter((b) => !block.endpoints.includes(b))
            .sort()
            .map((b) => `    server ${b} max_fails=0 backup;`),
          '    keepalive 16;',
          '}',
          '',
        ].join('\n');
  const { tls } = block;
  if (!tls) return header + upstreamBlock + server(block.listen, block.domains, served);

  const challenges =
    tls.challengeRoot === undefined
      ? []
      : ['location /.well-known/acme-challenge/ {', `    root ${tls.challengeRoot};`, '}'];
  const byCertificate = new Map<string, { certificate: ServedCertificate; domains: string[] }>();
  const plain: string[] = [];
  for (const domain of block.domains) {
    const certificate = tls.certificates.certificateFor(domain);
    if (!certificate) plain.push(domain);
    else
      byCertificate.set(certificate.certFile, {
        certificate,
        domains: [...(byCertificate.get(certificate.certFile)?.domains ?? []), domain],
      });
  }
  const secured = [...byCertificate.values()].flatMap((g) => g.domains);
  const httpsPort = /(\d+)$/.exec(tls.listen)?.[1];
  const redirect = `return 301 https://$host${httpsPort === '443' ? '' : `:${httpsPort}`}$request_uri;`;
  return (
    header +
    upstreamBlock +
    (plain.length > 0
      ? server(block.listen, plain, [...challenges, ...(challenges.length > 0 ? wrapRoot(served) : served)])
      : '') +
    (secured.length > 0 ? server(block.listen, secured, [...challenges, 'location / {', `    ${redirect}`, '}']) : '') +
    [...byCertificate.values()]
      .map(({ certificate, domains }) =>
        server(`${tls.listen} ssl`, domains, [
          `# certificate ${certificate.fingerprint}`,
          `ssl_certificate ${certificate.certFile};`,
          `ssl_certificate_key ${certificate.keyFile};`,
          ...served,
        ]),
      )
      .join('')
  );
}

function server(listen: string, domains: string[], body: string[]): string {
  return [
    'server {',
    `    listen ${listen};`,
    `    server_name ${domains.join(' ')};`,
    ...body.map((l) => `    ${l}`),
    '}',
    '',
  ].join('\n');
}

/** A bare `return 503;` beside another location must sit in a location of its own. */
function wrapRoot(served: string[]): string[] {
  return served[0] === 'return 503;' ? ['location / {', '    return 503;', '}'] : served;
}
