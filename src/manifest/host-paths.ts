/**
 * Host-path volumes checked on the host, at every read of the manifests berth deploys from
 * (each change and each resync), not only by name as validation does. A manifest's author, or a
 * container with a writable bind under an `--allow-host-path` prefix, could make a path under the
 * prefix a symbolic link to `/`; the engine follows links when it mounts. So each component below
 * the prefix is looked at with `lstat`: a link anywhere, or a path that does not exist, is a
 * problem at the volume's `file:line:col` (the app is Invalid, its running revision untouched),
 * and what is mounted is the path that was checked (`hostSource`), the prefix's own links (the
 * operator's) resolved. `validate` does not do this: it may run on another machine than the host.
 */
import { lstat, realpath } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { isPathWithin } from './validate.js';
import type { App, ManifestProblem, ManifestSet, VolumeSpec } from './types.js';

/** The checked path of `source` under one of `prefixes`, or the reason it is refused. */
export async function checkHostPath(source: string, prefixes: readonly string[]): Promise<{ path: string } | { refused: string }> {
  const wanted = posix.normalize(source);
  const prefix = prefixes.map((p) => posix.normalize(p)).filter((p) => isPathWithin(wanted, p)).sort((a, b) => b.length - a.length)[0];
  if (prefix === undefined) return { refused: `host path ${wanted} is not under an --allow-host-path prefix` };
  let realPrefix: string;
  try {
    realPrefix = await realpath(prefix);
  } catch {
    return { refused: `host path ${wanted}: its --allow-host-path prefix ${prefix} does not exist` };
  }
  let current = realPrefix;
  for (const part of relative(prefix, wanted).split(sep).filter(Boolean)) {
    current = join(current, part);
    const stats = await lstat(current).catch((error: NodeJS.ErrnoException) => error);
    if (stats instanceof Error) return { refused: `host path ${wanted} ${stats.code === 'ENOENT' ? 'does not exist' : `cannot be examined (${stats.code ?? 'error'})`}` };
    if (stats.isSymbolicLink()) return { refused: `host path ${wanted} leads through a symbolic link at ${join(prefix, relative(realPrefix, current))}; berth mounts no host path through a link` };
  }
  return { path: current };
}

/** `set` with each app's host paths checked: an app with one refused leaves the set's apps for a problem, as an invalid manifest does. */
export async function confineHostPaths(set: ManifestSet, prefixes: readonly string[]): Promise<ManifestSet> {
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
      const checked = await checkHostPath(volume.source, prefixes);
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
  constructor(
    private readonly inner: { readonly dir: string; read(): Promise<ManifestSet> },
    private readonly prefixes: readonly string[],
  ) {}

  get dir(): string {
    return this.inner.dir;
  }

  async read(): Promise<ManifestSet> {
    return confineHostPaths(await this.inner.read(), this.prefixes);
  }
}
