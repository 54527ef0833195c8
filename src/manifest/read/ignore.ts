const MANIFEST_EXTENSION = /\.ya?ml$/;

/**
 * Whether a directory entry name is a manifest: it ends in `.yaml` or `.yml` and is not
 * hidden. Hidden covers editor and tool leftovers such as `.#x.yaml`, `.x.yaml.swp` and
 * atomic-write temporaries; the extension test rules out backups, auto-saves and probes
 * (`x.yaml~`, `#x.yaml#`, `x.yaml.bak`, vim's `4913`).
 */
export function isManifestFileName(name: string): boolean {
  return MANIFEST_EXTENSION.test(name) && !name.startsWith('.');
}
