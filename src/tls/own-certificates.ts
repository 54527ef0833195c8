/**
 * `--tls-cert-dir`: a directory of `<domain>.crt` + `<domain>.key` pairs (`_.example.com.crt`
 * for `*.example.com`). Every pair is checked as nginx would need it; a pair that cannot be used
 * is left out with one line saying why, and never stops the others.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readCertificatePair } from './certificate-file.js';
import { nameOfFile } from './domain-names.js';
import type { StoredCertificate } from './stored-certificate.js';

interface OwnCertificates {
  /** By the name the file stands for (`web.example.com`, `*.example.com`). */
  byName: Map<string, StoredCertificate>;
  /** One line per pair left out: the file and why. */
  problems: string[];
}

export async function readOwnCertificates(dir: string): Promise<OwnCertificates> {
  const byName = new Map<string, StoredCertificate>();
  const problems: string[] = [];
  let files: string[];
  try {
    files = await readdir(dir);
  } catch (error) {
    return {
      byName,
      problems: [`${dir}: unreadable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`],
    };
  }
  const present = new Set(files);
  for (const file of files.filter((f) => f.endsWith('.crt')).sort()) {
    const base = file.slice(0, -'.crt'.length);
    const certFile = join(dir, file);
    const keyFile = join(dir, `${base}.key`);
    if (!present.has(`${base}.key`)) {
      problems.push(`${certFile}: no ${base}.key beside it`);
      continue;
    }
    const name = nameOfFile(base);
    try {
      const info = await readCertificatePair(certFile, keyFile);
      if (!info.names.includes(name)) {
        problems.push(`${certFile}: the certificate names ${info.names.join(', ') || 'no DNS name'}, not ${name}`);
        continue;
      }
      byName.set(name, { ...info, certFile, keyFile, source: 'own' });
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  for (const file of files.filter((f) => f.endsWith('.key') && !present.has(`${f.slice(0, -'.key'.length)}.crt`))) {
    problems.push(`${join(dir, file)}: no ${file.slice(0, -'.key'.length)}.crt beside it`);
  }
  return { byName, problems };
}
