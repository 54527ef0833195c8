/**
 * Renders one app's nginx server blocks. Pure: same inputs, same text. With TLS, a domain that has
 * a certificate is served on the TLS listener and its plain listener redirects to HTTPS; a domain
 * without one is served over plain HTTP as before. The plain listener always answers ACME
 * challenges from the challenge root, redirected or not. With a canary, the stable and the canary
 * servers share the upstream with weights that give the canary its percent (canary-weights.ts);
 * with an access log, the file also holds the app's `log_format` (at nginx's http level, where
 * the file is included) and the proxied location logs every request to it (access-log-format.ts).
 */
import type { AccessLogTarget, CanarySplit, ProxyTls, ServedCertificate } from './types.js';
import { accessLogFormatName, blockHeader, upstreamName } from './nginx-names.js';
import { canaryWeights } from './canary-weights.js';
import { accessLogTargetProblem, renderAccessLog, renderLogFormat } from './access-log-format.js';

export { upstreamName };

interface ServerBlock {
  namespace: string;
  app: string;
  /** `80`, `127.0.0.1:8080`, `[::1]:80`: nginx `listen` syntax. */
  listen: string;
  domains: string[];
  /** `127.0.0.1:<port>` of each serving container; none (and no canary) means the app answers 503. */
  endpoints: string[];
  /** Servers nginx tries only once every endpoint failed a request (nginx `backup`): the previous revision while the new one is watched. */
  backups?: readonly string[];
  /** The new revision's servers and their share of the requests (1-99%); `endpoints` get the rest. */
  canary?: CanarySplit;
  /** Where every proxied request is logged, for the canary's judgement. */
  accessLog?: AccessLogTarget;
  tls?: ProxyTls;
}

/**
 * The text of `<conf-dir>/berth.<namespace>.<app>.conf` for `block`. Throws RangeError on a
 * canary percent outside 1-99 and on an access log target nginx could not take safely (neither
 * comes from a manifest: berth's planner and listener choose them).
 */
export function renderServerBlock(block: ServerBlock): string {
  const upstream = upstreamName(block.namespace, block.app);
  const header = blockHeader(block.namespace, block.app);
  const servers = upstreamServers(block);
  // Nothing proxied (nginx answers 503 itself): nothing to log.
  const log =
    servers.length > 0 && block.accessLog
      ? { format: accessLogFormatName(block.namespace, block.app), target: block.accessLog }
      : undefined;
  const problem = log && accessLogTargetProblem(log.target);
  if (problem !== undefined) throw new RangeError(problem);
  const served =
    servers.length === 0
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
          ...(log ? [`    ${renderAccessLog(log.format, log.target)}`] : []),
          '}',
        ];
  const upstreamBlock =
    servers.length === 0
      ? ''
      : [
          ...(log ? [renderLogFormat(log.format, log.target)] : []),
          `upstream ${upstream} {`,
          ...servers.map((line) => `    ${line}`),
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

/**
 * The upstream's `server` lines, stable endpoints first, then the canary's (weighted, when both
 * are there), then the backups, each group sorted; an address is listed once, in its first group.
 * None when nothing serves.
 */
function upstreamServers(block: ServerBlock): string[] {
  const stable = [...new Set(block.endpoints)].sort();
  const canary = [...new Set(block.canary?.endpoints ?? [])].filter((e) => !stable.includes(e)).sort();
  const backups = [...new Set(block.backups ?? [])].filter((b) => !stable.includes(b) && !canary.includes(b)).sort();
  const backupLines = backups.map((b) => `server ${b} max_fails=0 backup;`);
  if (stable.length === 0 && canary.length === 0) return [];
  if (canary.length === 0 || stable.length === 0 || block.canary === undefined)
    return [...[...stable, ...canary].map((e) => `server ${e} max_fails=0;`), ...backupLines];
  const weights = canaryWeights(stable.length, canary.length, block.canary.percent);
  return [
    ...stable.map((e) => `server ${e} weight=${weights.stable} max_fails=0;`),
    `# canary: ${block.canary.percent}% of requests`,
    ...canary.map((e) => `server ${e} weight=${weights.canary} max_fails=0;`),
    ...backupLines,
  ];
}

/**
 * The permission bits of a block file: one that carries an access log token is readable by its
 * owner only (nginx's master reads it as root), since a local user who read the token could
 * forge the lines a canary is judged on; any other 0644, as nginx's files usually are.
 */
export function blockFileMode(text: string): number {
  return /^log_format /m.test(text) ? 0o600 : 0o644;
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
