/**
 * Decrypts age files (https://age-encryption.org) with the format's own JavaScript implementation
 * and the identities of --age-identity, read once, and only from a file no other user can read or
 * write (util/secret-file.ts). Every failure is a SecretError naming the file and the reason in one
 * line; no message ever carries a secret. The age implementation is loaded
 * on the first decryption: a command whose apps name no secret never loads it.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { readAtMost, readSecretFile, SecretFileError } from '../util/secret-file.js';

/** Larger encrypted files are refused: env files and secret files are small. */
const SECRET_FILE_LIMIT = 64 * 1024;

export class SecretError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'SecretError';
  }
}

export class SecretDecrypter {
  private constructor(private readonly identities: string[]) {}

  /** The identities (`AGE-SECRET-KEY-1...` lines) of the given files; an unreadable file or one with none is an error. */
  static async fromIdentityFiles(files: string[]): Promise<SecretDecrypter> {
    const identities: string[] = [];
    for (const file of files) {
      // An identity decrypts every secret: read only when no one but berth's user could have read or changed it.
      const text = await readSecretFile(file).catch((error: unknown) => {
        throw error instanceof SecretFileError ? new SecretError(file, error.reason) : error;
      });
      const found = text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l.startsWith('AGE-SECRET-KEY-'));
      if (found.length === 0)
        throw new SecretError(file, 'holds no age identity (AGE-SECRET-KEY-1...); make one with age-keygen');
      identities.push(...found);
    }
    return new SecretDecrypter(identities);
  }

  static none(): SecretDecrypter {
    return new SecretDecrypter([]);
  }

  /**
   * Decrypts `file` (a real path: confine.ts resolved it), opened without following a link and
   * read no further than the limit. A file that is not age is said to be so, quoting nothing of it.
   */
  async decrypt(file: string): Promise<Buffer> {
    const ciphertext = await readBounded(file);
    if (this.identities.length === 0)
      throw new SecretError(
        file,
        'cannot decrypt: berth was given no identity (--age-identity FILE or BERTH_AGE_IDENTITY_FILE)',
      );
    const { Decrypter } = await import('age-encryption');
    const decrypter = new Decrypter();
    for (const identity of this.identities) decrypter.addIdentity(identity);
    try {
      return Buffer.from(await decrypter.decrypt(ciphertext));
    } catch (error) {
      // The library's own message may quote the file's first line (a file that is not age at all): never shown.
      if (/no identity matched/i.test((error as Error).message))
        throw new SecretError(
          file,
          'cannot decrypt: it is encrypted to another key than the identities berth was given',
        );
      throw new SecretError(file, 'cannot decrypt: not a valid age file');
    }
  }
}

/** The whole file, if it is a regular file within SECRET_FILE_LIMIT; opened O_NOFOLLOW, read by the descriptor it was checked on. */
async function readBounded(file: string): Promise<Buffer> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    (error: NodeJS.ErrnoException) => {
      throw new SecretError(
        file,
        error.code === 'ENOENT'
          ? 'no such file'
          : error.code === 'ELOOP'
            ? 'is a symbolic link'
            : `unreadable (${error.code ?? 'error'})`,
      );
    },
  );
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new SecretError(file, 'is not a regular file');
    if (stats.size > SECRET_FILE_LIMIT)
      throw new SecretError(
        file,
        `${stats.size} bytes, over the ${SECRET_FILE_LIMIT / 1024} KiB limit for secret files`,
      );
    const content = await readAtMost(handle, SECRET_FILE_LIMIT);
    if (content === undefined)
      throw new SecretError(file, `over the ${SECRET_FILE_LIMIT / 1024} KiB limit for secret files`);
    return content;
  } finally {
    await handle.close();
  }
}
