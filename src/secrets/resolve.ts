/**
 * Decrypts the secrets every app names and puts them on the app (`spec.resolved`). An app whose
 * secrets cannot be had (no key, another key, a corrupt or oversized file, a dotenv line that does
 * not parse, a name also in spec.env) leaves the set's apps for its problems, as an invalid
 * manifest does: the running revision keeps serving, and the app shows Invalid with one line.
 * With `secretsRoot`, each app's decrypted files are to go in `<secretsRoot>/<app>`.
 */
import { createHmac, createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { App, ManifestProblem, ManifestSet, SecretRef } from '../manifest/types.js';
import { writeFileAtomically } from '../util/atomic-file.js';
import { canonicalJson } from '../util/canonical-json.js';
import { ConfinementError, confinedFile } from './confine.js';
import { type SecretDecrypter, SecretError } from './decrypter.js';
import { parseDotenv } from './dotenv.js';

interface ResolveOptions {
  /** The source an app's manifest came from (the manifests directory, or the git checkout): every file it names lies inside it (confine.ts). */
  root: (app: App) => string;
  /** `<secrets root>`: each app's decrypted files are to go in `<secretsRoot>/<app>`. */
  secretsRoot?: string;
}

export async function resolveSecrets(
  set: ManifestSet,
  decrypter: SecretDecrypter,
  digestKey: Buffer,
  options: ResolveOptions,
): Promise<ManifestSet> {
  const { secretsRoot } = options;
  const apps = new Map(set.apps);
  const problems = [...set.problems];
  const invalid = new Set(set.invalid);
  for (const [name, app] of set.apps) {
    if (app.spec.envFrom.length === 0 && app.spec.secrets.length === 0) continue;
    try {
      const resolved = await resolveApp(app, decrypter, digestKey, options.root(app));
      apps.set(name, {
        ...app,
        spec: {
          ...app.spec,
          resolved: secretsRoot === undefined ? resolved : { ...resolved, root: join(secretsRoot, name) },
        },
      });
    } catch (error) {
      if (!(error instanceof SecretProblem)) throw error;
      apps.delete(name);
      invalid.add(name);
      problems.push({ ...error.at, app: name, message: error.message });
    }
  }
  return { ...set, apps, problems, invalid };
}

class SecretProblem extends Error {
  constructor(
    readonly at: ManifestProblem,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Only checks that every file the apps name lies where it may (confine.ts): `validate` without
 * keys. An app naming a file elsewhere leaves the set as an invalid one does.
 */
export async function confineSecretFiles(set: ManifestSet, root: (app: App) => string): Promise<ManifestSet> {
  const apps = new Map(set.apps);
  const problems = [...set.problems];
  const invalid = new Set(set.invalid);
  for (const [name, app] of set.apps) {
    for (const ref of [...app.spec.envFrom, ...app.spec.secrets]) {
      const problem = await confinedFile(ref.file, root(app), name).then(
        () => undefined,
        (error: unknown) => {
          if (error instanceof ConfinementError) return `${ref.file}: ${error.reason}`;
          throw error;
        },
      );
      if (problem === undefined) continue;
      apps.delete(name);
      invalid.add(name);
      problems.push({ ...ref.at, app: name, message: problem });
      break;
    }
  }
  return { ...set, apps, problems, invalid };
}

async function resolveApp(app: App, decrypter: SecretDecrypter, digestKey: Buffer, root: string) {
  const env: Record<string, string> = {};
  const files: { target: string; content: Buffer }[] = [];
  const decrypt = async (ref: SecretRef) => {
    try {
      return await decrypter.decrypt(await confinedFile(ref.file, root, app.name));
    } catch (error) {
      // Said with the path as the manifest resolves it, not the real path it led to.
      if (error instanceof SecretError || error instanceof ConfinementError)
        throw new SecretProblem({ ...ref.at, message: '' }, `${ref.file}: ${error.reason}`);
      throw error;
    }
  };
  for (const ref of app.spec.envFrom) {
    let parsed: Record<string, string>;
    try {
      parsed = parseDotenv((await decrypt(ref)).toString('utf8'));
    } catch (error) {
      if (error instanceof SecretProblem) throw error;
      throw new SecretProblem(
        { ...ref.at, message: '' },
        `${ref.file}: not a dotenv file: ${(error as Error).message}`,
      );
    }
    for (const name of Object.keys(parsed)) {
      if (name in app.spec.env)
        throw new SecretProblem(
          { ...ref.at, message: '' },
          `${ref.file}: ${name} is also in spec.env; name each variable in one place`,
        );
    }
    Object.assign(env, parsed);
  }
  for (const ref of app.spec.secrets) files.push({ target: ref.target, content: await decrypt(ref) });
  const digest = createHmac('sha256', digestKey)
    .update(
      canonicalJson({
        env,
        files: files.map((f) => ({ target: f.target, sha256: createHash('sha256').update(f.content).digest('hex') })),
      }),
    )
    .digest('hex')
    .slice(0, 32);
  return { env, files, digest };
}

/** A manifest directory whose apps come out with their secrets decrypted (see resolveSecrets). */
export class SecretResolvingSource {
  constructor(
    private readonly inner: { readonly dir: string; read(): Promise<ManifestSet> },
    private readonly decrypter: SecretDecrypter,
    private readonly digestKey: Buffer,
    /** What files must lie inside: the git checkout, or (by default) the manifests directory. */
    private readonly root: string,
    /** The namespace's secrets root: where each app's decrypted files go (`<root>/<app>`); none when they are never written (plan). */
    private readonly secretsRoot?: string,
  ) {}

  get dir(): string {
    return this.inner.dir;
  }

  async read(): Promise<ManifestSet> {
    return resolveSecrets(await this.inner.read(), this.decrypter, this.digestKey, {
      root: () => this.root,
      ...(this.secretsRoot !== undefined ? { secretsRoot: this.secretsRoot } : {}),
    });
  }
}

/** The key of the digests above, made once per namespace and kept beside berth's state (0600). */
export async function digestKey(file: string): Promise<Buffer> {
  const existing = await readFile(file).catch(() => undefined);
  if (existing && existing.length >= 32) return existing;
  const key = randomBytes(32);
  await writeFileAtomically(file, key, 0o600);
  return key;
}
