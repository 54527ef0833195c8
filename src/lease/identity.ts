/**
 * A replica's identity in the lease: a random id kept in its state directory (`lease-id`, beside
 * the state file, under berth's lock), so a berth started again on the same state dir is the same
 * replica and takes its own lease back at once; the hostname goes along for people.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomically } from '../util/atomic-file.js';
import type { LeaseIdentity } from './elector.js';

const ID_PATTERN = /^[0-9a-f]{32}$/;

/** The identity kept in `dir` (made there on the first start). */
export async function leaseIdentity(dir: string): Promise<LeaseIdentity> {
  const file = join(dir, 'lease-id');
  let id = await readId(file);
  if (id === undefined) {
    id = randomBytes(16).toString('hex');
    await writeFileAtomically(file, `${id}\n`, 0o600);
  }
  return { id, name: `${hostname().slice(0, 64)}/${id.slice(0, 8)}` };
}

/** The id in `file`: read without following a link, 64 bytes at most; undefined when missing or not an id. */
async function readId(file: string): Promise<string | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const buffer = Buffer.alloc(64);
    const { bytesRead } = await handle.read(buffer, 0, 64, 0);
    const text = buffer.subarray(0, bytesRead).toString('utf8').trim();
    return ID_PATTERN.test(text) ? text : undefined;
  } finally {
    await handle.close();
  }
}
