/**
 * Fixtures made with Debian's real `age` and `age-keygen` (interop with berth's decrypter, never a
 * round trip through berth's own code).
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

function run(command: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, (error, stdout, stderr) =>
      error ? reject(new Error(`${command}: ${stderr || error.message}`)) : resolve(stdout),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Writes a new identity (private key) to `file`. */
export async function ageKeygen(file: string): Promise<void> {
  await run('age-keygen', ['-o', file]);
}

/** Encrypts `text` to the identity in `identityFile`, into `file` (its directory made). */
export async function ageEncrypt(identityFile: string, file: string, text: string): Promise<void> {
  const recipient = (await run('age-keygen', ['-y', identityFile])).trim();
  await mkdir(dirname(file), { recursive: true });
  await run('age', ['-r', recipient, '-o', file], text);
}
