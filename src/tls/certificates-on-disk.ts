/**
 * The certificates berth would serve now, read once from disk: those ACME issued (the state
 * directory) and the operator's own (`--tls-cert-dir`), own ones first, as the certificate
 * manager looks them up. For `plan`, which shows routes and never orders or watches anything.
 */
import { AcmeStore } from './acme-store.js';
import { readOwnCertificates } from './own-certificates.js';
import { lookup, type StoredCertificate } from './stored-certificate.js';

export async function certificatesOnDisk(
  stateDir: string,
  namespace: string,
  ownDir?: string,
): Promise<{ certificateFor(domain: string): StoredCertificate | undefined }> {
  const [acme, own] = await Promise.all([
    new AcmeStore(stateDir, namespace).readAll(),
    ownDir !== undefined ? readOwnCertificates(ownDir).then((o) => o.byName) : new Map<string, StoredCertificate>(),
  ]);
  return { certificateFor: (domain) => lookup(own, domain) ?? acme.get(domain.toLowerCase()) };
}
