/**
 * berth's own version, as `berth --version` prints it. scripts/bundle.mjs writes package.json's
 * `version` into the bundles as BERTH_VERSION; code compiled without the bundler (the tests'
 * `tsc` build) has none and says so.
 */
declare const BERTH_VERSION: string | undefined;

/** The version the running build was made from: package.json's `version`, or `unknown` outside a bundle. */
export function berthVersion(): string {
  return typeof BERTH_VERSION === 'string' ? BERTH_VERSION : 'unknown';
}
