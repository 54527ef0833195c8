import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { NginxRouterOptions } from '../proxy/nginx-router.js';
import { checkedDomain } from './domain-flag.js';
import { UsageError } from './usage.js';

/** The proxy flags `run` and `plan` share: `plan` reads the proxy's routes as `run` would write them. */
export const PROXY_FLAGS = {
  proxy: { type: 'string' },
  'nginx-conf-dir': { type: 'string', default: '/etc/nginx/conf.d' },
  'proxy-listen': { type: 'string', default: '80' },
  'nginx-reload': { type: 'string', default: 'nginx -s reload' },
  'nginx-test': { type: 'string', default: 'nginx -t' },
  domain: { type: 'string' },
  'proxy-tls-listen': { type: 'string', default: '443' },
  'acme-directory': { type: 'string' },
  'acme-email': { type: 'string' },
  'acme-ca-file': { type: 'string' },
  'tls-cert-dir': { type: 'string' },
} as const;

export interface ProxyValues {
  proxy?: string | undefined;
  'nginx-conf-dir': string;
  'proxy-listen': string;
  'nginx-reload': string;
  'nginx-test': string;
  domain?: string | undefined;
  'proxy-tls-listen': string;
  'acme-directory'?: string | undefined;
  'acme-email'?: string | undefined;
  'acme-ca-file'?: string | undefined;
  'tls-cert-dir'?: string | undefined;
}

/** HTTPS as the flags ask for it: undefined without --acme-directory or --tls-cert-dir. */
export interface TlsSettings {
  listen: string;
  acme?: { directoryUrl: string; email: string; caPem?: string };
  ownDir?: string;
  /** Where the plain listener's `/.well-known/acme-challenge/` files live (under the nginx conf dir, which nginx can read). */
  challengeRoot?: string;
}

async function tlsSettings(values: ProxyValues, namespace: string): Promise<TlsSettings | undefined> {
  const directory = values['acme-directory'];
  const ownDir = values['tls-cert-dir'];
  if (directory === undefined && ownDir === undefined) {
    for (const flag of ['acme-email', 'acme-ca-file'] as const)
      if (values[flag] !== undefined) throw new UsageError(`--${flag} needs --acme-directory`);
    return undefined;
  }
  if (values.proxy !== 'nginx')
    throw new UsageError(
      `--${directory !== undefined ? 'acme-directory' : 'tls-cert-dir'} needs --proxy nginx: certificates are served by berth's nginx`,
    );
  const listen = checkedListen('--proxy-tls-listen', values['proxy-tls-listen']);
  if (listen === checkedListen('--proxy-listen', values['proxy-listen']))
    throw new UsageError('--proxy-tls-listen must differ from --proxy-listen');
  let acme: TlsSettings['acme'];
  if (directory !== undefined) {
    if (!/^https?:\/\/\S+$/.test(directory))
      throw new UsageError(`--acme-directory "${directory}" is not an http(s) URL`);
    const email = values['acme-email'];
    if (email === undefined || !/^[^\s@]+@[^\s@]+$/.test(email))
      throw new UsageError(
        '--acme-directory needs --acme-email ADDR, the contact the CA writes to about expiring certificates',
      );
    const caFile = values['acme-ca-file'];
    let caPem: string | undefined;
    if (caFile !== undefined) {
      caPem = await readFile(caFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new UsageError(`--acme-ca-file ${caFile}: unreadable (${error.code ?? error.message})`);
      });
    }
    acme = { directoryUrl: directory, email, ...(caPem !== undefined ? { caPem } : {}) };
  }
  // `berth-<namespace>-acme` names one namespace only (a fixed prefix and suffix around the
  // namespace: two namespaces never give one name), and it is a directory without `.conf`, which
  // nginx never includes and no namespace's pass lists or removes (blocks are `berth.<ns>.<app>.conf`).
  return {
    listen,
    ...(acme ? { acme, challengeRoot: join(resolve(values['nginx-conf-dir']), `berth-${namespace}-acme`) } : {}),
    ...(ownDir !== undefined ? { ownDir: resolve(ownDir) } : {}),
  };
}

function checkedListen(flag: string, listen: string): string {
  if (!/^(\d{1,5}|[0-9.]+:\d{1,5}|\[[0-9a-fA-F:]+\]:\d{1,5})$/.test(listen))
    throw new UsageError(`${flag} "${listen}" is not PORT, ADDR:PORT or [ADDR]:PORT`);
  return listen;
}

/** The proxy as the flags ask for it, checked; nothing is made yet (compose/proxy.ts makes it). */
export interface ProxySettings {
  /** `--proxy nginx`: the router's options but its TLS; undefined without a proxy (traffic reaches containers through their published ports). */
  nginx?: Omit<NginxRouterOptions, 'tls'>;
  /** HTTPS at the proxy; only ever with `nginx`. */
  tls?: TlsSettings;
  /** The domain apps without `domains` are served under (`<app>.D`), when the flags ask for one. */
  claims: { defaultDomain?: string };
}

/** Every proxy flag checked, in the order `run` and `plan` have always reported them: the TLS flags, then the router's. */
export async function proxySettings(values: ProxyValues, namespace: string): Promise<ProxySettings> {
  const tls = await tlsSettings(values, namespace);
  const nginx = nginxSettings(values, namespace);
  return { ...(nginx ? { nginx } : {}), ...(tls ? { tls } : {}), claims: claimOptions(values) };
}

function claimOptions(values: ProxyValues): { defaultDomain?: string } {
  return values.proxy === 'nginx' && values.domain !== undefined ? { defaultDomain: checkedDomain(values.domain) } : {};
}

/** The nginx router's options the flags ask for; undefined (no proxy) unless `--proxy nginx`. */
function nginxSettings(values: ProxyValues, namespace: string): ProxySettings['nginx'] {
  if (values.proxy === undefined) {
    if (values.domain !== undefined) throw new UsageError('--domain needs --proxy nginx');
    return undefined;
  }
  if (values.proxy !== 'nginx') throw new UsageError(`--proxy supports "nginx", not "${values.proxy}"`);
  return {
    namespace,
    confDir: resolve(values['nginx-conf-dir']),
    listen: checkedListen('--proxy-listen', values['proxy-listen']),
    testCommand: values['nginx-test'],
    reloadCommand: values['nginx-reload'],
    ...(values.domain !== undefined ? { defaultDomain: checkedDomain(values.domain) } : {}),
  };
}
