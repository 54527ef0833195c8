/**
 * A registry stand-in on 127.0.0.1 for pull tests that need what the real registry does not do:
 * it demands HTTP Basic auth (401 until the engine presents credentials) and records, decoded, the
 * `user:password` the engine presented. Tag `broken` resolves to a manifest whose blobs are missing,
 * so the engine fails inside its 200 progress stream; any other tag is `manifest unknown`, which
 * the engine reports as an HTTP error. Tag `hang` never answers (until close), for aborts.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const MANIFEST_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
const CONFIG = '{}';
const MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: MANIFEST_TYPE,
  config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: CONFIG.length, digest: sha256(CONFIG) },
  layers: [
    { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 10, digest: `sha256:${'1'.repeat(64)}` },
  ],
});
const MANIFEST_DIGEST = sha256(MANIFEST);

export class FakeRegistry {
  readonly credentials: string[] = [];
  private readonly server: Server;

  private constructor() {
    this.server = createServer((req, res) => {
      const authorization = req.headers.authorization ?? '';
      if (!authorization.startsWith('Basic ')) {
        return answer(
          res,
          401,
          { 'WWW-Authenticate': 'Basic realm="fake"' },
          registryError('UNAUTHORIZED', 'authentication required'),
        );
      }
      this.credentials.push(Buffer.from(authorization.slice('Basic '.length), 'base64').toString('utf8'));
      const path = req.url ?? '';
      if (path === '/v2/') return answer(res, 200, {}, '{}');
      if (path.endsWith('/manifests/hang')) return undefined;
      if (path.endsWith('/manifests/broken') || path.endsWith(`/manifests/${MANIFEST_DIGEST}`)) {
        return answer(
          res,
          200,
          { 'Content-Type': MANIFEST_TYPE, 'Docker-Content-Digest': MANIFEST_DIGEST },
          req.method === 'HEAD' ? '' : MANIFEST,
          MANIFEST.length,
        );
      }
      if (path.includes('/blobs/'))
        return answer(res, 404, {}, registryError('BLOB_UNKNOWN', 'blob unknown to registry'));
      return answer(res, 404, {}, registryError('MANIFEST_UNKNOWN', 'manifest unknown'));
    });
  }

  static async start(): Promise<FakeRegistry> {
    const registry = new FakeRegistry();
    await new Promise<void>((resolve, reject) => {
      registry.server.once('error', reject);
      registry.server.listen(0, '127.0.0.1', resolve);
    });
    return registry;
  }

  /** `127.0.0.1:<port>`, the registry part of references into it. */
  get host(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function answer(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string,
  contentLength = Buffer.byteLength(body),
): void {
  res.writeHead(status, {
    'Docker-Distribution-API-Version': 'registry/2.0',
    'Content-Type': 'application/json',
    ...headers,
    'Content-Length': contentLength,
  });
  res.end(body);
}

function registryError(code: string, message: string): string {
  return JSON.stringify({ errors: [{ code, message }] });
}

function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}
