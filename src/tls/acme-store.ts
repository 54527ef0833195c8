/**
 * Where ACME certificates live: `<state-dir>/tls/<namespace>/` (0700), the account key and
 * `<domain>@<version>.crt` + `.key` pairs (0600), each written to a temporary file and renamed
 * into place, so nginx never reads half a file nor a key of another pair.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { ensurePrivateDirectory } from '../util/private-dir.js';
import { writeFileAtomically } from '../util/atomic-file.js';
import { join } from 'node:path';
import { readCertificatePair } from './certificate-file.js';
import type { StoredCertificate } from './stored-certificate.js';

export class AcmeStore {
  readonly dir: string;

  constructor(stateDir: string, namespace: string) {
    this.dir = join(stateDir, 'tls', namespace);
  }

  /**
   * The newest readable pair of each domain. Pairs are `<domain>@<version>.crt` and `.key`: a
   * renewal writes a new pair beside the one nginx serves, so nginx never reads a key and a
   * certificate of two different pairs; the pair before stays until the next renewal.
   */
  async readAll(): Promise<Map<string, StoredCertificate>> {
    const byDomain = new Map<string, StoredCertificate>();
    for (const [domain, versions] of await this.versions()) {
      for (const version of versions) {
        const paths = this.pathsOf(domain, version);
        const info = await readCertificatePair(paths.certFile, paths.keyFile).catch(() => undefined);
        if (info) {
          byDomain.set(domain, { ...info, ...paths, source: 'acme' });
          break;
        }
      }
    }
    return byDomain;
  }

  /** The account key, created by `create` on first use. */
  async accountKey(create: () => Promise<Buffer>): Promise<Buffer> {
    const file = join(this.dir, 'account.key');
    const existing = await readFile(file).catch(() => undefined);
    if (existing) return existing;
    const key = await create();
    await this.writePrivate(file, key);
    return key;
  }

  /** Writes a new pair for `domain`; pairs older than the one it replaces are removed. */
  async save(domain: string, certPem: string, keyPem: string): Promise<{ certFile: string; keyFile: string }> {
    const paths = this.pathsOf(domain, Date.now().toString(36).padStart(10, '0'));
    await this.writePrivate(paths.keyFile, keyPem);
    await this.writePrivate(paths.certFile, certPem);
    const older = (await this.versions()).get(domain)?.slice(2) ?? [];
    for (const version of older) await this.removePair(domain, version);
    return paths;
  }

  async remove(domain: string): Promise<void> {
    for (const version of (await this.versions()).get(domain) ?? []) await this.removePair(domain, version);
  }

  /** Each domain's pair versions, newest first. */
  private async versions(): Promise<Map<string, string[]>> {
    const files = await readdir(this.dir).catch(() => [] as string[]);
    const byDomain = new Map<string, string[]>();
    for (const file of files) {
      const match = /^(.+)@([0-9a-z]+)\.crt$/.exec(file);
      if (match) byDomain.set(match[1]!, [...(byDomain.get(match[1]!) ?? []), match[2]!]);
    }
    for (const versions of byDomain.values()) versions.sort().reverse();
    return byDomain;
  }

  private pathsOf(domain: string, version: string): { certFile: string; keyFile: string } {
    return {
      certFile: join(this.dir, `${domain}@${version}.crt`),
      keyFile: join(this.dir, `${domain}@${version}.key`),
    };
  }

  private async removePair(domain: string, version: string): Promise<void> {
    const { certFile, keyFile } = this.pathsOf(domain, version);
    await Promise.all([rm(certFile, { force: true }), rm(keyFile, { force: true })]);
  }

  private async writePrivate(file: string, content: string | Buffer): Promise<void> {
    // Private keys: the directory is checked from / down on every write, as secrets are.
    await ensurePrivateDirectory(this.dir, { create: true, secret: true });
    await writeFileAtomically(file, content, 0o600);
  }
}
