import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { Encrypter } from 'age-encryption';
import { appArguments, parseCommand } from '../options.js';
import type { Output } from '../output.js';
import { UsageError } from '../usage.js';
import { writeFileAtomically } from '../../util/atomic-file.js';

/**
 * `berth secrets:encrypt APP NAME [--manifests DIR]`: encrypts stdin for the recipients listed in
 * `DIR/.age-recipients` (one `age1...` per line) into `DIR/secrets/APP/NAME.age`, and says how a
 * manifest names it. The plaintext is never written anywhere.
 */
export async function secretsEncryptCommand(
  args: string[],
  out: Output,
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<number> {
  const { values, positionals } = parseCommand(args, { manifests: { type: 'string', default: 'manifests' } }, true);
  const { app, tag: name } = appArguments('secrets:encrypt', positionals, true);
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.'))
    throw new UsageError(`secrets:encrypt: "${name}" is not a file name (letters, digits, . _ -)`);
  const dir = resolve(String(values.manifests));
  const recipientsFile = join(dir, '.age-recipients');
  const text = await readFile(recipientsFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(
      `${recipientsFile}: ${error.code === 'ENOENT' ? 'missing; list the public keys (age-keygen -y KEY_FILE) that may decrypt, one per line' : `unreadable (${error.code ?? error.message})`}`,
    );
  });
  const recipients = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (recipients.length === 0) throw new UsageError(`${recipientsFile} lists no recipient (age1...)`);
  const encrypter = new Encrypter();
  for (const recipient of recipients) {
    try {
      encrypter.addRecipient(recipient);
    } catch (error) {
      throw new UsageError(
        `${recipientsFile}: "${recipient.slice(0, 20)}..." is not an age recipient (${(error as Error).message})`,
      );
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
  const target = join(dir, 'secrets', app, `${name}.age`);
  await mkdir(dirname(target), { recursive: true });
  // Only ciphertext: readable by all (0644), like any other manifest file.
  await writeFileAtomically(target, await encrypter.encrypt(new Uint8Array(Buffer.concat(chunks))), 0o644);
  const path = relative(dir, target);
  out.stdout(`=====> Encrypted for ${recipients.length} recipient(s) into ${path}\n`);
  out.stdout(`       name it in ${app}'s manifest: envFrom: [{ file: ${path} }]  (a dotenv file)\n`);
  out.stdout(`                                 or secrets: [{ file: ${path}, target: /run/secrets/${name} }]\n`);
  return 0;
}
