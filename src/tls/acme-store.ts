/**
 * Where ACME certificates live: `<state-dir>/tls/<namespace>/` (0700), the account key and one
 * `<domain>.crt` + `<domain>.key` pair per domain (0600), each written to a temporary file and
 * renamed into place, so nginx never reads half a file.
 */
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readCertificatePair } from './certificate-file.js';
import type { StoredCertificate } from './stored-certificate.js';

export class AcmeStore {
  readonly dir: string;

  constructor(stateDir: string, namespace: string) {
    this.dir = join(stateDir, 'tls', namespace);
  }

  /** The certificates stored; a pair that no longer reads (half deleted by hand) is skipped. */
  async readAll(): Promise<Map<string, StoredCertificate>> {
    const byDomain = new Map<string, StoredCertificate>();
    const files = await readdir(this.dir).catch(() => [] as string[]);
    for (const file of files.filter((f) => f.endsWith('.crt'))) {
      const domain = file.slice(0, -'.crt'.length);
      const paths = this.paths(domain);
      const info = await readCertificatePair(paths.certFile, paths.keyFile).catch(() => undefined);
      if (info) byDomain.set(domain, { ...info, ...paths, source: 'acme' });
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

  async save(domain: string, certPem: string, keyPem: string): Promise<{ certFile: string; keyFile: string }> {
    const paths = this.paths(domain);
    await this.writePrivate(paths.keyFile, keyPem);
    await this.writePrivate(paths.certFile, certPem);
    return paths;
  }

  async remove(domain: string): Promise<void> {
    const { certFile, keyFile } = this.paths(domain);
    await Promise.all([rm(certFile, { force: true }), rm(keyFile, { force: true })]);
  }

  paths(domain: string): { certFile: string; keyFile: string } {
    return { certFile: join(this.dir, `${domain}.crt`), keyFile: join(this.dir, `${domain}.key`) };
  }

  private async writePrivate(file: string, content: string | Buffer): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    const temp = `${file}.${process.pid}.tmp`;
    try {
      await writeFile(temp, content, { mode: 0o600 });
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw error;
    }
  }
}
