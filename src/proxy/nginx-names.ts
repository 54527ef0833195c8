/**
 * The names berth gives an app in nginx's configuration: the file in the conf dir and the
 * upstream. Pure.
 *
 * Why they cannot collide across namespaces: a namespace is `[a-z0-9]([a-z0-9._-]*[a-z0-9])?`
 * (src/cli/options.ts) and may hold '.', '_' and '-'; an app name is a DNS label, `[a-z0-9-]`
 * (src/manifest/app-name.ts), and never holds a '.'. So in `berth.<namespace>.<app>` the last
 * '.' is always the one berth put between the namespace and the app: the namespace is everything
 * between `berth.` and that dot, the app everything after it. Two different (namespace, app)
 * pairs give two different names, and a name is read back as exactly one pair (or as none, when
 * what follows the last dot is no app name). A namespace's pass compares the whole pair, never a
 * prefix: `berth.prod.` is a prefix of `berth.prod.eu.web.conf`, which is namespace `prod.eu`.
 *
 * The old naming, `berth-<namespace>-<app>.conf` with upstream `berth_<namespace>_<app>`, was
 * ambiguous ('-' is in both alphabets: `berth-prod-eu-web.conf` is `prod`/`eu-web` and
 * `prod-eu`/`web`), so an old file is recognized by the header comment berth wrote at its top,
 * never by its name (see `parseBlockHeader`).
 */
import { APP_NAME } from '../manifest/app-name.js';

/** A namespace as `--namespace` admits it (the same pattern as src/cli/options.ts). */
const NAMESPACE = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;

interface BlockOwner {
  namespace: string;
  app: string;
}

/** `berth.<namespace>.<app>.conf`: the app's server blocks in the conf dir. */
export function blockFileName(namespace: string, app: string): string {
  return `berth.${namespace}.${app}.conf`;
}

/** The owner a file name of `blockFileName`'s form names; undefined for any other name (an old one, a temp file, a hand-written vhost). */
export function parseBlockFileName(file: string): BlockOwner | undefined {
  if (!file.startsWith('berth.') || !file.endsWith('.conf')) return undefined;
  const middle = file.slice('berth.'.length, -'.conf'.length);
  const dot = middle.lastIndexOf('.');
  if (dot < 0) return undefined;
  const namespace = middle.slice(0, dot);
  const app = middle.slice(dot + 1);
  return NAMESPACE.test(namespace) && APP_NAME.test(app) ? { namespace, app } : undefined;
}

/**
 * `berth.<namespace>.<app>`: the app's upstream, unique in nginx's `http` context for the same
 * reason as the file name. nginx takes '.', '-' and '_' in an upstream name, and `proxy_pass
 * http://<name>` finds the upstream of that name before it would look the name up as a host.
 */
export function upstreamName(namespace: string, app: string): string {
  return `berth.${namespace}.${app}`;
}

/**
 * `berth.<namespace>.<app>.access`: the app's `log_format`, unique in nginx's `http` context for
 * the same reason as the upstream (nginx refuses two formats of one name, across every file).
 */
export function accessLogFormatName(namespace: string, app: string): string {
  return `berth.${namespace}.${app}.access`;
}

/** The first line of every block berth writes; it names the owner whatever the file is called. */
export function blockHeader(namespace: string, app: string): string {
  return `# Written by berth for app "${app}" (namespace ${namespace}); berth rewrites this file.\n`;
}

const HEADER = /^# Written by berth for app "([^"\n]*)" \(namespace ([^)\n]*)\); berth rewrites this file\.(?:\n|$)/;

/** The owner the header of a block berth wrote names (this version's or the previous one's: the header is the same); undefined for any other text. */
export function parseBlockHeader(text: string): BlockOwner | undefined {
  const match = HEADER.exec(text);
  if (!match) return undefined;
  const [, app = '', namespace = ''] = match;
  return NAMESPACE.test(namespace) && APP_NAME.test(app) ? { namespace, app } : undefined;
}

/** The previous version's file name, `berth-<namespace>-<app>.conf` (ambiguous: only ever compared with a header's owner). */
export function legacyBlockFileName(namespace: string, app: string): string {
  return `berth-${namespace}-${app}.conf`;
}

/** A name of the previous version's form (whose owner only its header can tell). */
export function isLegacyBlockFileName(file: string): boolean {
  return /^berth-.+\.conf$/.test(file);
}

/** The previous version's upstream name (ambiguous across namespaces). */
export function legacyUpstreamName(namespace: string, app: string): string {
  return `berth_${namespace}_${app}`.replace(/[^A-Za-z0-9_]/g, '_');
}

/** The domains of every `server_name` line of a block berth wrote (its own format: one line, names separated by spaces), lower case. */
export function serverNamesOf(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(/^\s*server_name\s+([^;\n]+);\s*$/gm)) {
    for (const name of (match[1] ?? '').trim().split(/\s+/)) if (name !== '') names.add(name.toLowerCase());
  }
  return [...names];
}

export interface ServerNameConflict {
  /** The server name, as nginx prints it (lower case). */
  name: string;
  /** The listen address it conflicts on (`127.0.0.1:8080`, `0.0.0.0:80`). */
  on: string;
}

/**
 * nginx's own word on two server blocks serving one name on one listen address, from the
 * output of `nginx -t`: `[warn] ... conflicting server name "x" on 0.0.0.0:80, ignored`. nginx
 * keeps the first block it read and ignores the name in the later one.
 */
export function conflictingServerNames(output: string): ServerNameConflict[] {
  return [...output.matchAll(/conflicting server name "([^"]*)" on (\S+?),? ignored/g)].map((m) => ({
    name: (m[1] ?? '').toLowerCase(),
    on: m[2] ?? '',
  }));
}
