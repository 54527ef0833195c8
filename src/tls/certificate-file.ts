/** Reading a certificate and its key: what nginx would serve, checked as nginx would need it. */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { TlsFileError } from './errors.js';

export interface CertificateInfo {
  /** DNS names of the subjectAltName (else the subject CN). */
  names: string[];
  /** The issuer's common name (or its whole name when it has none). */
  issuer: string;
  notBefore: number;
  notAfter: number;
  /** SHA-256 of the leaf certificate, as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint: string;
}

/** The pair's certificate, once the key is known to match it. TlsFileError names the file and why. */
function certificateInfo(certPem: string, keyPem: string, certFile: string, keyFile: string): CertificateInfo {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch (error) {
    throw new TlsFileError(`${certFile}: not a PEM certificate (${(error as Error).message})`, { cause: error });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw new TlsFileError(`${keyFile}: not a PEM private key (${(error as Error).message})`, { cause: error });
  }
  if (!certificate.checkPrivateKey(key)) throw new TlsFileError(`${keyFile} is not the key of ${certFile}`);
  const alt = (certificate.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  const cn = commonName(certificate.subject);
  return {
    names: alt.length > 0 ? alt : cn ? [cn.toLowerCase()] : [],
    issuer: commonName(certificate.issuer) ?? certificate.issuer.replace(/\n/g, ', '),
    notBefore: Date.parse(certificate.validFrom),
    notAfter: Date.parse(certificate.validTo),
    fingerprint: certificate.fingerprint256,
  };
}

/** Reads and checks a pair from disk; TlsFileError when a file is unreadable or the pair is unusable. */
export async function readCertificatePair(certFile: string, keyFile: string): Promise<CertificateInfo> {
  const [certPem, keyPem] = await Promise.all([readText(certFile), readText(keyFile)]);
  return certificateInfo(certPem, keyPem, certFile, keyFile);
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new TlsFileError(
      `${file}: unreadable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { cause: error },
    );
  }
}

function commonName(distinguishedName: string): string | undefined {
  return /(?:^|\n)CN=([^\n]*)/.exec(distinguishedName)?.[1];
}
