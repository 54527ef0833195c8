/**
 * Host-path volumes checked on the host, at every read of the manifests berth deploys from (each
 * change and each resync), not only by name as validation does. The engine follows links when it
 * mounts, and resolves a bind source again at every container restart, so:
 *
 * - each `--allow-host-path` prefix is resolved once, at start, and the way to it checked as the
 *   operator's own (util/private-dir.ts: no directory on it that another user may write, a link
 *   followed only where no other user could have made it);
 * - at each read, every component of a host path, from `/` through the prefix's real path and
 *   below, is looked at with `lstat`: a link anywhere (one a container made in a prefix it mounts,
 *   one that appeared in the prefix itself), or a path that does not exist, is a problem at the
 *   volume's `file:line:col` (the app is Invalid, its running revision untouched);
 * - a host path inside another host path that some app mounts writable is refused: that app's
 *   container could replace a directory on the way with a link, and the engine would follow it the
 *   next time the inner one's container restarts;
 * - what is mounted is the path that was checked (`hostSource`).
 *
 * `validate` does none of this: it may run on another machine than the host.
 */
import { lstat } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { ensurePrivateDirectory } from '../util/private-dir.js';
import { printable } from './printable.js';
import { isPathWithin } from './validate.js';
import type { App, ManifestProblem, ManifestSet, VolumeSpec } from './types.js';

/** An `--allow-host-path` prefix as given, and its real path as resolved and checked at start. */
interface HostPathPrefix {
  given: string;
  real: string;
}

/** Resolves and checks each prefix (start); UnsafeDirectoryError names the first that fails. */
export async function resolvePrefixes(prefixes: readonly string[]): Promise<HostPathPrefix[]> {
  const resolved: HostPathPrefix[] = [];
  for (const prefix of prefixes) {
    const given = posix.normalize(prefix).replace(/(.)\/+$/, '$1');
    resolved.push({ given, real: await ensurePrivateDirectory(given, { trustedOnly: true }) });
  }
  return resolved;
}

/** The checked path of `source` under one of `prefixes`, or the reason it is refused. */
export async function checkHostPath(
  source: string,
  prefixes: readonly HostPathPrefix[],
): Promise<{ path: string } | { refused: string }> {
  const wanted = posix.normalize(source);
  const shown = printable(wanted);
  const prefix = prefixes
    .filter((p) => isPathWithin(wanted, p.given))
    .sort((a, b) => b.given.length - a.given.length)[0];
  if (prefix === undefined) return { refused: `host path ${shown} is not under an --allow-host-path prefix` };
  const full = join(prefix.real, relative(prefix.given, wanted));
  let current = '/';
  for (const part of full.split(sep).filter(Boolean)) {
    current = join(current, part);
    const stats = await lstat(current).catch((error: NodeJS.ErrnoException) => error);
    if (stats instanceof Error)
      return {
        refused: `host path ${shown} ${stats.code === 'ENOENT' ? 'does not exist' : `cannot be examined (${stats.code ?? 'error'})`}`,
      };
    if (stats.isSymbolicLink()) {
      const at = isPathWithin(current, prefix.real) ? join(prefix.given, relative(prefix.real, current)) : current;
      return {
        refused: `host path ${shown} leads through a symbolic link at ${printable(at)}; berth mounts no host path through a link`,
      };
    }
  }
  return { path: full };
}

/** `set` with each app's host paths checked: an app with one refused leaves the set's apps for a problem, as an invalid manifest does. */
export async function confineHostPaths(set: ManifestSet, prefixes: readonly HostPathPrefix[]): Promise<ManifestSet> {
  const writable = [...set.apps.values()].flatMap((app) =>
    app.spec.volumes
      .filter((v) => v.source.startsWith('/') && !v.readOnly)
      .map((v) => ({ app: app.name, source: posix.normalize(v.source) })),
  );
  let apps: Map<string, App> | undefined;
  const problems: ManifestProblem[] = [];
  const invalid = new Set(set.invalid);
  for (const [name, app] of set.apps) {
    if (!app.spec.volumes.some((v) => v.source.startsWith('/'))) continue;
    apps ??= new Map(set.apps);
    const volumes: VolumeSpec[] = [];
    let refused: ManifestProblem | undefined;
    for (const [i, volume] of app.spec.volumes.entries()) {
      if (!volume.source.startsWith('/')) {
        volumes.push(volume);
        continue;
      }
      const source = posix.normalize(volume.source);
      const outer = writable.find((w) => w.source !== source && isPathWithin(source, w.source));
      const checked = outer
        ? {
            refused: `host path ${printable(source)} lies inside ${printable(outer.source)}, which app ${outer.app} mounts writable: its container could put a link on the way`,
          }
        : await checkHostPath(volume.source, prefixes);
      if ('refused' in checked) {
        refused = { ...(app.claimsAt?.volumes[i] ?? app.source), app: name, message: checked.refused };
        break;
      }
      volumes.push({ ...volume, hostSource: checked.path });
    }
    if (refused) {
      apps.delete(name);
      invalid.add(name);
      problems.push(refused);
    } else {
      apps.set(name, { ...app, spec: { ...app.spec, volumes } });
    }
  }
  if (apps === undefined) return set;
  return { ...set, apps, invalid, problems: [...set.problems, ...problems] };
}

/** A manifest source whose apps come out with their host paths checked (see confineHostPaths). */
export class HostPathCheckingSource {
  private constructor(
    private readonly inner: { readonly dir: string; read(): Promise<ManifestSet> },
    private readonly prefixes: readonly HostPathPrefix[],
  ) {}

  /** Resolves the prefixes now: one that fails its check stops the start (UnsafeDirectoryError). */
  static async create(
    inner: { readonly dir: string; read(): Promise<ManifestSet> },
    prefixes: readonly string[],
  ): Promise<HostPathCheckingSource> {
    return new HostPathCheckingSource(inner, await resolvePrefixes(prefixes));
  }

  get dir(): string {
    return this.inner.dir;
  }

  async read(): Promise<ManifestSet> {
    return confineHostPaths(await this.inner.read(), this.prefixes);
  }
}
