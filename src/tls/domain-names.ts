/**
 * Certificate names as files spell them and as nginx matches them: `_.example.com` on disk is
 * `*.example.com`, which covers exactly one label in front of `example.com`. Pure.
 */

/** `<name>` of a `<name>.crt` file as the certificate name it stands for. */
export function nameOfFile(base: string): string {
  return base.startsWith('_.') ? `*.${base.slice(2)}` : base;
}

/** The names that would cover `domain`, most specific first. */
export function candidateNames(domain: string): string[] {
  const dot = domain.indexOf('.');
  return dot < 0 ? [domain] : [domain, `*.${domain.slice(dot + 1)}`];
}

/** True when the certificate name `name` (maybe a wildcard) covers `domain`. */
export function covers(name: string, domain: string): boolean {
  return candidateNames(domain).includes(name.toLowerCase());
}
