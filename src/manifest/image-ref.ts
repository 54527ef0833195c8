/**
 * How berth spells image references. An app's own repository is `<namespace>/<app>`: images
 * loaded or built for it carry that name, and images pulled from elsewhere are mirrored there.
 */

/** `<namespace>/<app>`. */
export function appRepository(namespace: string, app: string): string {
  return `${namespace}/${app}`;
}

/** `<repository>:<tag>`. */
export function imageRef(repository: string, tag: string): string {
  return `${repository}:${tag}`;
}

/** The tag of a `repository:tag` reference; a registry's `host:port/` is not taken for one. */
export function tagOf(ref: string): string {
  const colon = tagColon(ref);
  return colon < 0 ? 'latest' : ref.slice(colon + 1);
}

/** The repository of a `repository:tag` reference. */
export function repositoryOf(ref: string): string {
  const colon = tagColon(ref);
  return colon < 0 ? ref : ref.slice(0, colon);
}

function tagColon(ref: string): number {
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? colon : -1;
}
