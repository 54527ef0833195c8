/**
 * The nginx TrafficRouter. One file per app, `<conf-dir>/berth-<namespace>-<app>.conf`, written
 * atomically, then checked with the test command (`nginx -t`) and only then reloaded. A config
 * nginx rejects is never left in place: the previous file is restored (or the new one removed)
 * and the change rejects with ProxyError carrying nginx's own message. Changes are serialized,
 * because `nginx -t` checks the whole configuration at once.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { writeFileAtomically } from '../util/atomic-file.js';
import { join } from 'node:path';
import type { App } from '../manifest/types.js';
import { directUrls } from './direct.js';
import type { ProxyTls, TrafficRouter } from './types.js';
import type { Logger } from '../util/logger.js';
import { ProxyError } from './errors.js';
import { renderServerBlock } from './nginx-config.js';

export interface NginxRouterOptions {
  namespace: string;
  confDir: string;
  /** nginx `listen` value for every server block. */
  listen: string;
  /** Shell command that checks the configuration (default `nginx -t`). */
  testCommand: string;
  /** Shell command that reloads nginx (default `nginx -s reload`). */
  reloadCommand: string;
  /** With `--domain D`, apps without `domains` are served as `<app>.D`. */
  defaultDomain?: string;
  /** HTTPS for the domains that have a certificate. */
  tls?: ProxyTls;
}

export class NginxRouter implements TrafficRouter {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly options: NginxRouterOptions,
    private readonly logger: Logger,
  ) {}

  route(app: App, endpoints: string[]): Promise<void> {
    const text = this.blockOf(app, endpoints);
    return this.serialized(() => this.write(app.name, text, endpoints));
  }

  async isRouted(app: App, endpoints: string[]): Promise<boolean> {
    const current = await readFile(this.fileOf(app.name), 'utf8').catch(() => undefined);
    return current === this.blockOf(app, endpoints);
  }

  /** The app's server block for `endpoints`; undefined when the app has no domain (no block). */
  private blockOf(app: App, endpoints: string[]): string | undefined {
    const domains = this.domainsOf(app);
    if (domains.length === 0) return undefined;
    const { tls } = this.options;
    return renderServerBlock({ namespace: this.options.namespace, app: app.name, listen: this.options.listen, domains, endpoints, ...(tls ? { tls } : {}) });
  }

  urls(app: App, endpoints: string[]): string[] {
    const domains = this.domainsOf(app);
    if (domains.length === 0) return directUrls(endpoints);
    const { tls } = this.options;
    return domains.map((domain) => (tls?.certificates.certificateFor(domain) ? urlOf('https', domain, tls.listen, '443') : urlOf('http', domain, this.options.listen, '80')));
  }

  /** The domains the app is served under: its own, or `<app>.<defaultDomain>`. */
  domainsOf(app: App): string[] {
    return app.spec.domains.length > 0 ? app.spec.domains : this.options.defaultDomain ? [`${app.name}.${this.options.defaultDomain}`] : [];
  }

  unroute(name: string): Promise<void> {
    return this.serialized(() => this.write(name, undefined, []));
  }

  async hasRoute(name: string): Promise<boolean> {
    return (await readFile(this.fileOf(name), 'utf8').catch(() => undefined)) !== undefined;
  }

  async routed(): Promise<string[]> {
    const prefix = `berth-${this.options.namespace}-`;
    const files = await readdir(this.options.confDir).catch(() => [] as string[]);
    return files.filter((f) => f.startsWith(prefix) && f.endsWith('.conf')).map((f) => f.slice(prefix.length, -'.conf'.length));
  }

  private fileOf(name: string): string {
    return join(this.options.confDir, `berth-${this.options.namespace}-${name}.conf`);
  }

  /** Puts `text` (undefined: no file) in place, tests, reloads; restores the previous file on rejection. */
  private async write(name: string, text: string | undefined, endpoints: string[]): Promise<void> {
    const file = this.fileOf(name);
    const previous = await readFile(file, 'utf8').catch(() => undefined);
    if (previous === text) return;
    try {
      await this.replace(file, text);
    } catch (error) {
      // A full or read-only config directory: nginx keeps what it has; the app reports why.
      throw new ProxyError(`cannot write the nginx configuration ${file}, the previous one is kept: ${(error as Error).message}`, { cause: error });
    }
    try {
      await run(this.options.testCommand);
    } catch (error) {
      await this.replace(file, previous);
      throw new ProxyError(`nginx rejected the configuration for ${name}, the previous one is kept: ${(error as Error).message}`, { cause: error });
    }
    try {
      await run(this.options.reloadCommand);
    } catch (error) {
      throw new ProxyError(`nginx did not reload for ${name}: ${(error as Error).message}`, { cause: error });
    }
    if (text === undefined) this.logger.info({ step: 'proxy', app: name }, `Removed the nginx server block of ${name}; reloaded nginx`);
    else this.logger.info({ step: 'proxy', app: name, endpoints }, `Configured nginx for ${name} -> ${endpoints.join(', ') || 'nothing (503)'}; reloaded nginx`);
  }

  private async replace(file: string, text: string | undefined): Promise<void> {
    if (text === undefined) {
      await rm(file, { force: true });
      return;
    }
    await writeFileAtomically(file, text, 0o644);
  }

  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

function urlOf(scheme: string, domain: string, listen: string, defaultPort: string): string {
  const port = /(\d+)$/.exec(listen)?.[1];
  return `${scheme}://${domain}${port === undefined || port === defaultPort ? '' : `:${port}`}`;
}

/** Runs a shell command; rejects with its last line of stderr (nginx's reason). child_process loads on first use (`plan` runs none). */
async function run(command: string): Promise<void> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { timeout: 30_000 }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      const lines = stderr.trim().split('\n').filter((l) => !/test is successful|syntax is ok/.test(l));
      reject(new Error(`\`${command}\` failed: ${lines.at(-1) ?? error.message}`));
    });
  });
}
