/**
 * The nginx TrafficRouter. One file per app, `<conf-dir>/berth.<namespace>.<app>.conf`
 * (nginx-names.ts: unambiguous across namespaces), written atomically, then checked with the test
 * command (`nginx -t`) and only then reloaded. A config nginx rejects is never left in place: the
 * previous file is restored (or the new one removed) and the change rejects with ProxyError
 * carrying nginx's own message. So is a block that would serve a domain another server block
 * already serves on the same listener (another namespace's berth, or a vhost berth did not
 * write): nginx's own `conflicting server name` warning from the test says so, and the holder
 * keeps it. Changes are serialized, because `nginx -t` checks the whole configuration at once. A
 * namespace only ever lists, writes or removes its own files, matched by the whole name.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { writeFileAtomically } from '../util/atomic-file.js';
import { join } from 'node:path';
import type { App } from '../manifest/types.js';
import { directUrls } from './direct.js';
import type { ProxyTls, RouteExtras, TrafficRouter } from './types.js';
import type { Logger } from '../util/logger.js';
import { DomainConflictError, ProxyError } from './errors.js';
import { blockFileMode, renderServerBlock } from './nginx-config.js';
import {
  blockFileName,
  conflictingServerNames,
  isLegacyBlockFileName,
  legacyBlockFileName,
  legacyUpstreamName,
  parseBlockFileName,
  parseBlockHeader,
  serverNamesOf,
  upstreamName,
  type ServerNameConflict,
} from './nginx-names.js';

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
  /** nginx's old workers finish the requests they hold after a reload: a second covers what berth's apps answer. */
  readonly drainMs = 1_000;
  private queue: Promise<unknown> = Promise.resolve();
  /** App -> its domains the last write found another server block serving (not in its block). */
  private readonly refused = new Map<string, string[]>();

  constructor(
    private readonly options: NginxRouterOptions,
    private readonly logger: Logger,
  ) {}

  async route(app: App, endpoints: string[], extras: RouteExtras = {}): Promise<void> {
    const text = this.blockOf(app, endpoints, extras);
    return this.serialized(() => this.write(app.name, text, endpoints, extras));
  }

  async isRouted(app: App, endpoints: string[], extras: RouteExtras = {}): Promise<boolean> {
    const current = await readFile(this.fileOf(app.name), 'utf8').catch(() => undefined);
    return current === this.blockOf(app, endpoints, extras);
  }

  /** The app's server block for `endpoints` (and `extras`); undefined when the app has no domain (no block). */
  private blockOf(app: App, endpoints: string[], extras: RouteExtras): string | undefined {
    const domains = this.domainsOf(app);
    if (domains.length === 0) return undefined;
    const { tls } = this.options;
    return renderServerBlock({
      namespace: this.options.namespace,
      app: app.name,
      listen: this.options.listen,
      domains,
      endpoints,
      ...(extras.backups ? { backups: extras.backups } : {}),
      ...(extras.canary ? { canary: extras.canary } : {}),
      ...(extras.accessLog ? { accessLog: extras.accessLog } : {}),
      ...(tls ? { tls } : {}),
    });
  }

  urls(app: App, endpoints: string[]): string[] {
    const domains = this.domainsOf(app);
    if (domains.length === 0) return directUrls(endpoints);
    const { tls } = this.options;
    return domains.map((domain) =>
      tls?.certificates.certificateFor(domain)
        ? urlOf('https', domain, tls.listen, '443')
        : urlOf('http', domain, this.options.listen, '80'),
    );
  }

  /** The domains the app is served under: its own, or `<app>.<defaultDomain>`. */
  domainsOf(app: App): string[] {
    return app.spec.domains.length > 0
      ? app.spec.domains
      : this.options.defaultDomain
        ? [`${app.name}.${this.options.defaultDomain}`]
        : [];
  }

  /**
   * The app's domains its last write left out because another server block serves them (the
   * holder keeps them): no certificate is ordered for those, since the holder answers their
   * challenges. Reads memory only.
   */
  refusedDomains(name: string): string[] {
    return this.refused.get(name) ?? [];
  }

  unroute(name: string): Promise<void> {
    return this.serialized(() => this.write(name, undefined, []));
  }

  async hasRoute(name: string): Promise<boolean> {
    return (await readFile(this.fileOf(name), 'utf8').catch(() => undefined)) !== undefined;
  }

  /** The apps of this namespace that have a block: files whose whole name reads as this namespace (never a prefix match). */
  async routed(): Promise<string[]> {
    const files = await readdir(this.options.confDir).catch(() => [] as string[]);
    return files.flatMap((file) => {
      const owner = parseBlockFileName(file);
      return owner?.namespace === this.options.namespace ? [owner.app] : [];
    });
  }

  /**
   * At start, before anything is judged on the routes: this namespace's blocks of the previous
   * naming (`berth-<namespace>-<app>.conf`, upstream `berth_<namespace>_<app>`) are rewritten
   * under the new names and the old files removed, then nginx tests and reloads once. An old name
   * is ambiguous, so a file is this namespace's only when its header says so and its name is the
   * one the previous version gave that app; every other file (another namespace's old block,
   * whatever its name) is left untouched. Rejects with ProxyError, every file put back as it was,
   * when a file cannot be written or nginx rejects the result.
   */
  migrate(): Promise<void> {
    return this.serialized(() => this.migrateLegacyBlocks());
  }

  private fileOf(name: string): string {
    return join(this.options.confDir, blockFileName(this.options.namespace, name));
  }

  /** Puts `text` (undefined: no file) in place, tests, reloads; restores the previous file on rejection. */
  private async write(
    name: string,
    text: string | undefined,
    endpoints: string[],
    extras: RouteExtras = {},
  ): Promise<void> {
    const file = this.fileOf(name);
    const previous = await readFile(file, 'utf8').catch(() => undefined);
    if (previous === text) return;
    try {
      await this.replace(file, text);
    } catch (error) {
      // A full or read-only config directory: nginx keeps what it has; the app reports why.
      throw new ProxyError(
        `cannot write the nginx configuration ${file}, the previous one is kept: ${(error as Error).message}`,
        { cause: error },
      );
    }
    let output: string;
    try {
      output = await run(this.options.testCommand);
    } catch (error) {
      await this.replace(file, previous);
      throw new ProxyError(
        `nginx rejected the configuration for ${name}, the previous one is kept: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const taken = text === undefined ? undefined : await this.takenDomains(name, text, previous, output);
    if (taken) {
      await this.replace(file, previous);
      this.refused.set(name, taken.domains);
      throw taken;
    }
    this.refused.delete(name);
    try {
      await run(this.options.reloadCommand);
    } catch (error) {
      throw new ProxyError(`nginx did not reload for ${name}: ${(error as Error).message}`, { cause: error });
    }
    if (text === undefined)
      this.logger.info({ step: 'proxy', app: name }, `Removed the nginx server block of ${name}; reloaded nginx`);
    else {
      // The access log's token is a secret: only its address is said.
      const backups = extras.backups ?? [];
      const { canary, accessLog } = extras;
      const split = canary && canary.endpoints.length > 0 ? canary : undefined;
      this.logger.info(
        {
          step: 'proxy',
          app: name,
          endpoints,
          ...(backups.length > 0 ? { backups } : {}),
          ...(split ? { canary: { endpoints: split.endpoints, percent: split.percent } } : {}),
          ...(accessLog ? { accessLog: accessLog.address } : {}),
        },
        `Configured nginx for ${name} -> ${endpoints.join(', ') || 'nothing (503)'}${split ? ` (canary ${split.endpoints.join(', ')} at ${split.percent}%)` : ''}${backups.length > 0 ? ` (backups while the new revision is watched: ${backups.join(', ')})` : ''}${accessLog ? ` (access log to ${accessLog.address})` : ''}; reloaded nginx`,
      );
    }
  }

  /**
   * The domains of `text` that nginx's test found another server block serving on the same
   * listener, as the error that refuses the block; undefined when there is none. A domain the
   * app's previous block already served is the app's own: it was there first (berth refused the
   * domain to whoever came later while it was), so it is said in a warning and not refused.
   */
  private async takenDomains(
    name: string,
    text: string,
    previous: string | undefined,
    output: string,
  ): Promise<DomainConflictError | undefined> {
    const ours = new Set(serverNamesOf(text));
    const held = new Set(previous === undefined ? [] : serverNamesOf(previous));
    const contested = new Map<string, ServerNameConflict>();
    for (const conflict of conflictingServerNames(output))
      if (ours.has(conflict.name) && !contested.has(conflict.name)) contested.set(conflict.name, conflict);
    const kept = [...contested.values()].filter((c) => held.has(c.name));
    for (const conflict of kept) {
      this.logger.warn(
        { step: 'proxy', app: name, domain: conflict.name },
        `nginx reports another server block serving ${conflict.name} on ${conflict.on}, which ${name} already served; nginx serves the block it reads first`,
      );
    }
    const taken = [...contested.values()].filter((c) => !held.has(c.name));
    if (taken.length === 0) return undefined;
    const holders = await this.holdersOf(new Set(taken.map((c) => c.name)), name);
    const clauses = taken.map(
      (c) =>
        `domain ${c.name} is also served by ${holders.get(c.name) ?? `a server block berth did not write (nginx -t: conflicting server name "${c.name}" on ${c.on})`}, which keeps it`,
    );
    return new DomainConflictError(
      `${clauses.join('; ')}; the nginx block of ${name} is left as it was`,
      taken.map((c) => c.name),
    );
  }

  /**
   * Who serves each of `domains`, among the blocks berth wrote (any namespace, either naming),
   * by their header comments and their `server_name` lines; the app's own file is left out.
   * Other files are not parsed: nginx's warning is all berth knows of them.
   */
  private async holdersOf(domains: Set<string>, name: string): Promise<Map<string, string>> {
    const holders = new Map<string, string>();
    const own = blockFileName(this.options.namespace, name);
    const files = await readdir(this.options.confDir).catch(() => [] as string[]);
    for (const file of files.sort()) {
      if (file === own || !(parseBlockFileName(file) !== undefined || isLegacyBlockFileName(file))) continue;
      const path = join(this.options.confDir, file);
      const text = await readFile(path, 'utf8').catch(() => undefined);
      const owner = text === undefined ? undefined : parseBlockHeader(text);
      if (!owner || text === undefined) continue;
      const who =
        owner.namespace === this.options.namespace
          ? `app ${owner.app} (${path})`
          : `app ${owner.app} of namespace ${owner.namespace} (${path})`;
      for (const domain of serverNamesOf(text))
        if (domains.has(domain) && !holders.has(domain)) holders.set(domain, who);
    }
    return holders;
  }

  private async migrateLegacyBlocks(): Promise<void> {
    const { confDir, namespace } = this.options;
    const files = (await readdir(confDir).catch(() => [] as string[])).filter(isLegacyBlockFileName).sort();
    const moves: { from: string; to: string; text: string; renamed: string; replaces: string | undefined }[] = [];
    for (const file of files) {
      const from = join(confDir, file);
      const text = await readFile(from, 'utf8').catch(() => undefined);
      const owner = text === undefined ? undefined : parseBlockHeader(text);
      if (text === undefined || owner?.namespace !== namespace || file !== legacyBlockFileName(namespace, owner.app))
        continue;
      const [before, after] = [legacyUpstreamName(namespace, owner.app), upstreamName(namespace, owner.app)];
      const renamed = text
        .split(`upstream ${before} {`)
        .join(`upstream ${after} {`)
        .split(`proxy_pass http://${before};`)
        .join(`proxy_pass http://${after};`);
      const to = this.fileOf(owner.app);
      moves.push({ from, to, text, renamed, replaces: await readFile(to, 'utf8').catch(() => undefined) });
    }
    if (moves.length === 0) return;
    const list = moves.map((m) => `${m.from} -> ${m.to}`).join(', ');
    const undo = async () => {
      for (const move of moves) {
        await writeFileAtomically(move.from, move.text, 0o644).catch(() => undefined);
        if (move.replaces === undefined) await rm(move.to, { force: true }).catch(() => undefined);
      }
    };
    try {
      // A block already under its new name is the newer one: the old file only goes.
      for (const move of moves)
        if (move.replaces === undefined) await writeFileAtomically(move.to, move.renamed, 0o644);
      for (const move of moves) await rm(move.from, { force: true });
    } catch (error) {
      await undo();
      throw new ProxyError(
        `cannot rename the nginx server blocks of namespace ${namespace} to the new naming (${list}), they are left as they were: ${(error as Error).message}; make ${confDir} writable for berth and start it again`,
        { cause: error },
      );
    }
    let output: string;
    try {
      output = await run(this.options.testCommand);
    } catch (error) {
      await undo();
      throw new ProxyError(
        `nginx rejected the nginx server blocks of namespace ${namespace} under the new naming (${list}), they are left as they were: ${(error as Error).message}; fix what nginx rejects (or remove those files) and start berth again`,
        { cause: error },
      );
    }
    const renamedDomains = new Set(moves.flatMap((m) => serverNamesOf(m.renamed)));
    for (const conflict of conflictingServerNames(output)) {
      if (renamedDomains.has(conflict.name))
        this.logger.warn(
          { step: 'proxy', domain: conflict.name },
          `nginx reports more than one server block serving ${conflict.name} on ${conflict.on}; nginx serves the block it reads first`,
        );
    }
    try {
      await run(this.options.reloadCommand);
    } catch (error) {
      // What nginx serves is the same text under the old names until its next reload.
      this.logger.warn(
        { step: 'proxy', err: error },
        `nginx did not reload after the renaming: ${(error as Error).message}`,
      );
    }
    this.logger.info(
      { step: 'proxy', files: moves.map((m) => m.to) },
      `Renamed the nginx server blocks of namespace ${namespace} to the new naming: ${list}; reloaded nginx`,
    );
  }

  private async replace(file: string, text: string | undefined): Promise<void> {
    if (text === undefined) {
      await rm(file, { force: true });
      return;
    }
    await writeFileAtomically(file, text, blockFileMode(text));
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

/**
 * Runs a shell command; resolves with what it printed (nginx's warnings), rejects with its last
 * line of stderr (nginx's reason). child_process loads on first use (`plan` runs none).
 */
async function run(command: string): Promise<string> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { timeout: 30_000 }, (error, stdout, stderr) => {
      if (!error) return resolve(`${stderr}\n${stdout}`);
      const lines = stderr
        .trim()
        .split('\n')
        .filter((l) => !/test is successful|syntax is ok/.test(l));
      reject(new Error(`\`${command}\` failed: ${lines.at(-1) ?? error.message}`));
    });
  });
}
