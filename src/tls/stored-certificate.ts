import type { ServedCertificate } from '../proxy/types.js';
import type { CertificateInfo } from './certificate-file.js';
import { candidateNames } from './domain-names.js';

/** A checked pair on disk, ready for nginx: from `--tls-cert-dir` (`own`) or issued by ACME. */
export interface StoredCertificate extends ServedCertificate, CertificateInfo {
  source: 'own' | 'acme';
}

/** The certificate of `byName` that covers `domain`: its own name first, then a wildcard. */
export function lookup(byName: ReadonlyMap<string, StoredCertificate>, domain: string): StoredCertificate | undefined {
  for (const name of candidateNames(domain.toLowerCase())) {
    const found = byName.get(name);
    if (found) return found;
  }
  return undefined;
}
