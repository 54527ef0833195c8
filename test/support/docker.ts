/**
 * Docker helpers shared by every integration test. They drive the engine through the `docker`
 * CLI, never through berth's runtime, so a test can set up and check state independently of the
 * code under test.
 *
 * - `buildTestImage(repository, tag, { body?, extraFiles? })` builds `repository:tag` with
 *   `docker build -q` and resolves to its image id (`sha256:...`). The image is `FROM scratch` with
 *   the host's static `/bin/busybox` (Debian busybox-static), `/www/index.html` = body (default
 *   `<repository>:<tag>`), `/www/health` = `ok` and each `extraFiles` entry as `/www/<name>`.
 *   It runs `busybox httpd -f -p 8080 -h /www` under a shell that exits on SIGTERM (so
 *   `docker stop` is prompt, as with a well-behaved app): HTTP on container port 8080 (publish it through the
 *   manifest's ports; the image EXPOSEs nothing). Different bodies or files give different image
 *   ids; identical inputs may reuse the build cache.
 * - `uniqueNamespace(prefix = 't')`: a fresh namespace, prefix + 8 random [a-z0-9], valid as a
 *   berth namespace and as a Docker repository component.
 * - `cleanupNamespace(namespace)`: force-removes every container labelled
 *   `berth.namespace=<namespace>` and every image tag whose repository path starts with
 *   `<namespace>/` (also behind a registry host, e.g. `127.0.0.1:5000/<namespace>/app`), then
 *   every image buildTestImage built for the namespace, even one a later build left untagged.
 *   Never rejects for things already gone. Call it in after/afterEach hooks.
 * - `httpGet(port, path = '/', timeoutMs = 2000)`: GET http://127.0.0.1:<port><path>, resolves
 *   `{ status, body }` for any status; rejects on connection failure or timeout.
 * - `dockerCli(args)`: runs `docker ...args`, resolves stdout, rejects with an Error whose message
 *   is the CLI's stderr.
 * - `tagImages(source, refs)`: points every `repo:tag` of `refs` at `source` through the engine's
 *   HTTP API on its unix socket (what `docker tag` does, without a process per tag).
 */
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';

const BUSYBOX = '/bin/busybox';
const NAMESPACE_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function dockerCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('docker', args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`docker ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

export async function buildTestImage(
  repository: string,
  tag: string,
  options: { body?: string; extraFiles?: Record<string, string>; shell?: boolean; command?: string } = {},
): Promise<string> {
  const context = await mkdtemp(join(tmpdir(), 'berth-image-'));
  try {
    // /bin/sh too (busybox runs its applets from it), for healthchecks written as shell commands;
    // `shell: false` leaves it out, as in a distroless image, and runs httpd as PID 1.
    const shell = options.shell ?? true;
    await mkdir(join(context, 'bin'));
    await copyFile(BUSYBOX, join(context, 'bin', 'busybox'));
    if (shell) await symlink('busybox', join(context, 'bin', 'sh'));
    const files: Record<string, string> = {
      'index.html': options.body ?? `${repository}:${tag}`,
      health: 'ok',
      // Unique per repository: two tests building the same content would otherwise share an image
      // id, and one's cleanup (rmi by id) could delete the image the other just tagged.
      '.built-for': repository,
      ...options.extraFiles,
    };
    for (const [name, content] of Object.entries(files)) {
      const path = normalize(join(context, 'www', name));
      if (!path.startsWith(`${join(context, 'www')}/`))
        throw new Error(`buildTestImage: extra file "${name}" leaves /www`);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, content);
    }
    await writeFile(
      join(context, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY bin /bin',
        'COPY www /www',
        'ENTRYPOINT ["/bin/busybox"]',
        options.command !== undefined
          ? `CMD ${JSON.stringify(['sh', '-c', options.command])}`
          : shell
            ? `CMD ["sh", "-c", "trap 'exit 0' TERM; /bin/busybox httpd -f -p 8080 -h /www & wait"]`
            : 'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]',
        '',
      ].join('\n'),
    );
    // No cache: a build shares no intermediate image with another test's, which that test's
    // cleanup could remove mid-build.
    const output = await dockerCli(['build', '--no-cache', '-q', '-t', `${repository}:${tag}`, context]);
    const id = output.trim().split('\n').pop() ?? '';
    if (!/^sha256:[0-9a-f]{64}$/.test(id))
      throw new Error(`buildTestImage ${repository}:${tag}: docker build printed no image id: ${output}`);
    const namespace = repositoryPath(repository).split('/')[0] ?? repository;
    const built = builtImages.get(namespace) ?? new Set<string>();
    // Its intermediate images too (its own: no cache), which berth's untag (noprune) leaves behind.
    for (
      let image = id;
      image !== '';
      image = (await dockerCli(['image', 'inspect', '--format', '{{.Parent}}', image])).trim()
    )
      built.add(image);
    builtImages.set(namespace, built);
    return id;
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

export function uniqueNamespace(prefix = 't'): string {
  let suffix = '';
  for (let i = 0; i < 8; i += 1) suffix += NAMESPACE_ALPHABET[randomInt(NAMESPACE_ALPHABET.length)];
  return `${prefix}${suffix}`;
}

/**
 * Images buildTestImage built, by namespace: a build that re-points a tag leaves the image it
 * replaced untagged, where cleaning up by tag cannot find it.
 */
const builtImages = new Map<string, Set<string>>();

export async function cleanupNamespace(namespace: string): Promise<void> {
  const containers = lines(await dockerCli(['ps', '-aq', '--filter', `label=berth.namespace=${namespace}`]));
  if (containers.length > 0) await dockerCli(['rm', '-f', ...containers]).catch(() => undefined);

  // Tags, and the digests of images pulled by digest alone (Swarm's tasks pull `repo@sha256:...`).
  const refs = lines(await dockerCli(['images', '--digests', '--format', '{{.Repository}} {{.Tag}} {{.Digest}}']))
    .map((line) => line.split(' ') as [string, string, string])
    .filter(([repository]) => repositoryPath(repository).startsWith(`${namespace}/`))
    .map(([repository, tag, digest]) => (tag !== '<none>' ? `${repository}:${tag}` : `${repository}@${digest}`))
    .filter((ref) => !ref.endsWith('@<none>'));
  // One call for all: `docker rmi` goes on past a reference it cannot remove.
  if (refs.length > 0) await dockerCli(['rmi', ...new Set(refs)]).catch(() => undefined);
  const built = [...(builtImages.get(namespace) ?? [])];
  builtImages.delete(namespace);
  // Those still tagged elsewhere (outside the namespace) are kept: rmi without -f refuses them.
  if (built.length > 0) await dockerCli(['rmi', ...built]).catch(() => undefined);
}

/** The repository without a leading registry host (`127.0.0.1:5000/ns/app` -> `ns/app`). */
function repositoryPath(repository: string): string {
  const [first = '', ...rest] = repository.split('/');
  const namesHost = rest.length > 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  return namesHost ? rest.join('/') : repository;
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

export function httpGet(port: number, path = '/', timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        clearTimeout(deadline);
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    const deadline = setTimeout(
      () => req.destroy(new Error(`GET http://127.0.0.1:${port}${path}: no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    req.end();
  });
}

/** `docker tag source ref` for many refs at once, straight over the engine's unix socket. */
export async function tagImages(source: string, refs: string[]): Promise<void> {
  const socketPath = (process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock').replace(/^unix:\/\//, '');
  await Promise.all(
    refs.map(
      (ref) =>
        new Promise<void>((resolve, reject) => {
          const colon = ref.lastIndexOf(':');
          const query = new URLSearchParams({ repo: ref.slice(0, colon), tag: ref.slice(colon + 1) });
          const req = request(
            { socketPath, method: 'POST', path: `/images/${encodeURIComponent(source)}/tag?${query}` },
            (res) => {
              res.resume();
              res.on('end', () =>
                res.statusCode === 201 ? resolve() : reject(new Error(`tag ${source} ${ref}: HTTP ${res.statusCode}`)),
              );
            },
          );
          req.on('error', reject);
          req.end();
        }),
    ),
  );
}
