import { resolve } from 'node:path';
import { directTraffic } from '../proxy/direct.js';
import { NginxRouter } from '../proxy/nginx-router.js';
import type { TrafficRouter } from '../proxy/types.js';
import type { Logger } from '../util/logger.js';
import { UsageError } from './usage.js';

/** The proxy flags `run` and `plan` share: `plan` reads the proxy's routes as `run` would write them. */
export const PROXY_FLAGS = {
  proxy: { type: 'string' },
  'nginx-conf-dir': { type: 'string', default: '/etc/nginx/conf.d' },
  'proxy-listen': { type: 'string', default: '80' },
  'nginx-reload': { type: 'string', default: 'nginx -s reload' },
  'nginx-test': { type: 'string', default: 'nginx -t' },
  domain: { type: 'string' },
} as const;

export interface ProxyValues {
  proxy?: string | undefined;
  'nginx-conf-dir': string;
  'proxy-listen': string;
  'nginx-reload': string;
  'nginx-test': string;
  domain?: string | undefined;
}

/** The domain apps without `domains` are served under (`<app>.D`), when the flags ask for one. */
export function claimOptions(values: ProxyValues): { defaultDomain?: string } {
  return values.proxy === 'nginx' && values.domain !== undefined ? { defaultDomain: values.domain } : {};
}

/** The router the flags ask for: none (`directTraffic`) unless `--proxy nginx`. */
export function trafficRouter(values: ProxyValues, namespace: string, logger: Logger): TrafficRouter {
  if (values.proxy === undefined) {
    if (values.domain !== undefined) throw new UsageError('--domain needs --proxy nginx');
    return directTraffic;
  }
  if (values.proxy !== 'nginx') throw new UsageError(`--proxy supports "nginx", not "${values.proxy}"`);
  const listen = values['proxy-listen'];
  if (!/^(\d{1,5}|[0-9.]+:\d{1,5}|\[[0-9a-fA-F:]+\]:\d{1,5})$/.test(listen)) throw new UsageError(`--proxy-listen "${listen}" is not PORT, ADDR:PORT or [ADDR]:PORT`);
  return new NginxRouter(
    {
      namespace,
      confDir: resolve(values['nginx-conf-dir']),
      listen,
      testCommand: values['nginx-test'],
      reloadCommand: values['nginx-reload'],
      ...(values.domain !== undefined ? { defaultDomain: values.domain } : {}),
    },
    logger,
  );
}
