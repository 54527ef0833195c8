/**
 * Registry credentials for a pull, found the way Docker's own CLI finds them in
 * `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`):
 * - `credHelpers[<registry>]`, else `credsStore`: run `docker-credential-<name> get` with the
 *   registry on stdin (spawned only when configured);
 * - otherwise `auths[<registry>]`: `auth` (base64 `user:password`) or `identitytoken`.
 * Docker Hub is `https://index.docker.io/v1/`. No file, no entry, or a helper that knows no
 * credentials: undefined, an anonymous pull. Throws an Error naming the file or helper when the
 * file is not JSON or the helper fails.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { AuthConfigObject } from 'dockerode';

const DOCKER_HUB = 'https://index.docker.io/v1/';
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const HELPER_TIMEOUT_MS = 30_000;

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The registry a reference lives in: its first path component when that names a host, else Docker Hub. */
export function registryOf(reference: string): string {
  const slash = reference.indexOf('/');
  const first = slash < 0 ? '' : reference.slice(0, slash);
  const namesHost = first.includes('.') || first.includes(':') || first === 'localhost';
  return namesHost && !DOCKER_HUB_HOSTS.has(first) ? first : DOCKER_HUB;
}

/** `env` is the environment as Docker's CLI would see it: DOCKER_CONFIG, and PATH for the helpers. */
/** Where `docker login` keeps credentials for this environment. */
export function dockerConfigPath(env: Record<string, string | undefined>): string {
  return join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
}

const AUTH_FAILURE =
  /unauthorized|authentication required|no basic auth credentials|requested access to the resource is denied|incorrect username or password/i;

/**
 * A registry's refusal in berth's words (`127.0.0.1:5001 refused the credentials for team/web:
 * unauthorized`), or undefined when `message` is no authentication failure. Never a credential.
 */
export function authFailure(
  message: string,
  reference: string,
  credentialsSent: boolean,
  env: Record<string, string | undefined>,
): string | undefined {
  if (!AUTH_FAILURE.test(message)) return undefined;
  const registry = registryOf(reference);
  const withoutRegistry = reference.startsWith(`${registry}/`) ? reference.slice(registry.length + 1) : reference;
  const repository = withoutRegistry.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
  return credentialsSent
    ? `${registry} refused the credentials for ${repository}: unauthorized (fix them in ${dockerConfigPath(env)}: berth reads it again on its next retry)`
    : `${registry} asks for credentials for ${repository}, and ${dockerConfigPath(env)} has none for ${registry} (docker login ${registry}, or a credential helper)`;
}

export async function registryCredentials(
  reference: string,
  env: Record<string, string | undefined>,
): Promise<AuthConfigObject | undefined> {
  const configPath = dockerConfigPath(env);
  const config = await readConfig(configPath);
  if (config === undefined) return undefined;

  const registry = registryOf(reference);
  const helper = config.credHelpers?.[registry] ?? config.credsStore;
  if (helper !== undefined && helper !== '') return askHelper(helper, registry, env);

  const entry = Object.entries(config.auths ?? {}).find(([key]) => hostOf(key) === hostOf(registry))?.[1];
  if (entry?.identitytoken) return { identitytoken: entry.identitytoken, serveraddress: registry };
  if (!entry?.auth) return undefined;
  const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new Error(`${configPath}: the auth entry for ${registry} is not base64 "user:password"`);
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress: registry };
}

async function readConfig(path: string): Promise<DockerConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as DockerConfigFile;
  } catch {
    // JSON.parse's message quotes the text around the fault: a credential, perhaps.
    throw new Error(`${path} is not valid JSON`);
  }
}

/** `https://Host:5000/v1/` and `host:5000` name the same registry. */
function hostOf(registryKey: string): string {
  const host =
    registryKey
      .replace(/^https?:\/\//i, '')
      .split('/')[0]
      ?.toLowerCase() ?? '';
  return DOCKER_HUB_HOSTS.has(host) ? 'index.docker.io' : host;
}

/** The docker-credential-helpers protocol: `get`, server URL on stdin, `{Username, Secret}` on stdout. */
async function askHelper(
  helper: string,
  registry: string,
  env: Record<string, string | undefined>,
): Promise<AuthConfigObject | undefined> {
  const program = `docker-credential-${helper}`;
  const { code, stdout, stderr } = await run(program, ['get'], registry, env);
  if (code !== 0) {
    if (/credentials not found/i.test(stdout + stderr)) return undefined;
    throw new Error(`${program} get failed for ${registry}: ${(stderr || stdout).trim() || `exit code ${code}`}`);
  }
  let answer: { Username?: string; Secret?: string };
  try {
    answer = JSON.parse(stdout) as { Username?: string; Secret?: string };
  } catch {
    throw new Error(`${program} get answered no JSON for ${registry}`);
  }
  if (!answer.Secret) return undefined;
  return answer.Username === '<token>'
    ? { identitytoken: answer.Secret, serveraddress: registry }
    : { username: answer.Username ?? '', password: answer.Secret, serveraddress: registry };
}

/** child_process loads when a helper runs: most commands never ask one. */
async function run(
  program: string,
  args: string[],
  input: string,
  env: Record<string, string | undefined>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: HELPER_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (error) => reject(new Error(`cannot run ${program}: ${error.message}`)));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.on('error', () => {
      /* the helper may exit without reading; its exit status tells */
    });
    child.stdin.end(input);
  });
}
