import { loadPaths } from '../../manifest/read/load.js';
import { dirname, resolve, sep } from 'node:path';
import { formatProblem, type App, type ManifestSet } from '../../manifest/types.js';
import { identityFiles } from '../identity-files.js';
import { checkedDomain } from '../domain-flag.js';
import { parseCommand, sharedOptions } from '../options.js';
import type { Output } from '../output.js';
import { UsageError } from '../usage.js';
import { RUNTIME_FLAG, runtimeKind } from '../runtime-flag.js';

const VALIDATE_FLAGS = {
  /** As `run --proxy nginx --domain D` would serve apps without domains, so their `<app>.D` is checked for collisions. */
  domain: { type: 'string' },
  /** With it, the secrets each app names are decrypted too: "cannot decrypt" is a problem. */
  'age-identity': { type: 'string', multiple: true, default: [] as string[] },
  /** With swarm, what Swarm cannot honour (a bound hostIp; retireAfter) is said, as `run --runtime swarm` would. */
  ...RUNTIME_FLAG,
} as const;

/** Problems (exit 1) and warnings (exit unchanged) per `file:line:col`, in file order. */
export async function validateCommand(args: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommand(args, VALIDATE_FLAGS, true);
  const shared = sharedOptions(values);
  if (positionals.length === 0) throw new UsageError('validate needs at least one file or directory');
  const runtime = runtimeKind(values.runtime);
  const loaded = await loadPaths(positionals, {
    namespace: shared.namespace,
    runtime,
    allowHostPaths: shared.allowHostPaths,
    ...(values.domain !== undefined ? { defaultDomain: checkedDomain(values.domain) } : {}),
  });
  const identities = identityFiles(values);
  const set = await checkSecrets(loaded, identities, rootsOf(positionals));
  const lines = [...set.problems, ...set.warnings].sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col,
  );
  for (const problem of lines) out.stdout(`${formatProblem(problem)}\n`);
  if (set.problems.length > 0) {
    out.stderr(`${set.problems.length} problem(s) in ${new Set(set.problems.map((p) => p.file)).size} file(s)\n`);
    return 1;
  }
  if (set.directory === 'missing' || set.directory === 'unreadable') {
    out.stderr(`berth: cannot read ${positionals.join(', ')}\n`);
    return 1;
  }
  out.stderr(`${set.fileCount} file(s), ${set.apps.size} app(s): valid\n`);
  return 0;
}

/**
 * Every file the apps name is checked to lie inside the path it was read from; with identities,
 * each is decrypted too, and what fails becomes a problem. The secrets code loads only when an app
 * names a file.
 */
async function checkSecrets(set: ManifestSet, identities: string[], root: (app: App) => string): Promise<ManifestSet> {
  if (![...set.apps.values()].some((app) => app.spec.envFrom.length > 0 || app.spec.secrets.length > 0)) return set;
  const [{ randomBytes }, { resolveSecrets, confineSecretFiles }, { secretDecrypter }] = await Promise.all([
    import('node:crypto'),
    import('../../secrets/resolve.js'),
    import('../secret-options.js'),
  ]);
  if (identities.length === 0) return confineSecretFiles(set, root);
  // The digests are not compared with anything here: any key does.
  return resolveSecrets(set, await secretDecrypter(identities), randomBytes(32), { root });
}

/** The directory an app's files must lie in: the directory given that holds its manifest, or a given file's own directory. */
function rootsOf(positionals: string[]): (app: App) => string {
  const given = positionals.map((p) => resolve(p));
  return (app) => {
    const file = resolve(app.source.file);
    const holder = given.find((p) => file.startsWith(`${p}${sep}`));
    return holder ?? dirname(file);
  };
}
