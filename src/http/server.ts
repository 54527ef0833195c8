/**
 * `run --listen HOST:PORT`: the operators' HTTP surface, read-only.
 *   /healthz        200 while the process serves requests
 *   /readyz         200 once the initial sync is done and the engine answers; 503 with the reasons otherwise
 *   /metrics        Prometheus text format
 *   /api/apps       every app as JSON (the shape of `berth status --json`); /api/apps/NAME one app, 404 when unknown
 *   /api/events     the timeline as JSON, newest last (?app=NAME for one app)
 *   /               the status page; /events its server-sent events
 *   POST /hooks/git with --git and --git-webhook-secret-file: a signed push webhook fetches at once
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Readiness } from '../controller/controller.js';
import type { AppStatus } from '../status/app-status.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { ListenError } from './errors.js';
import { formatListenAddress, type ListenAddress } from './listen-address.js';
import { LiveFeed } from './live-feed.js';
import { renderLive, renderStatusPage } from './status-page.js';
import { verifyWebhook } from '../source/git/webhook.js';
import type { BerthEvent } from '../events/types.js';

export interface StatusSnapshot {
  apps: AppStatus[];
  /** Set while the controller cannot reach the Docker engine. */
  outage?: string;
  /** `file:line:col: message` per problem in the manifest directory. */
  problems?: string[];
  /** The git source's condition in words, when berth follows a repository. */
  source?: string;
  /** The timeline, newest last. */
  events?: BerthEvent[];
}

/** `POST /hooks/git`: a push webhook that makes the git source look at once. */
export interface GitWebhook {
  secret: string;
  branch: string;
  /** Called for a verified push to the branch. */
  onPush(): void;
}

/** A push event's body is a few KiB; anything much larger is refused before it is read whole. */
const WEBHOOK_BODY_LIMIT = 1024 * 1024;

export interface StatusServerDeps {
  namespace: string;
  readiness(): Readiness;
  /** Reads state and asks the engine for containers; must not reject when the engine is away. */
  snapshot(): Promise<StatusSnapshot>;
  /** Subscribes to state changes; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
  metrics: Registry;
  clock: Clock;
  logger: Logger;
  gitWebhook?: GitWebhook;
}


export class StatusServer {
  private readonly app: FastifyInstance;
  private readonly feed: LiveFeed;

  constructor(private readonly deps: StatusServerDeps) {
    this.feed = new LiveFeed({
      clock: deps.clock,
      onChange: deps.onChange,
      render: async () => renderLive({ namespace: deps.namespace, now: deps.clock.now(), ...(await deps.snapshot()) }),
    });
    // Event streams never end on their own: closing the server must cut them.
    this.app = Fastify({ logger: false, forceCloseConnections: true, return503OnClosing: true });
    this.routes();
  }

  /** Resolves with the bound address (port 0 picks a free one); rejects with ListenError. */
  async listen(address: ListenAddress): Promise<ListenAddress> {
    try {
      await this.app.listen({ host: address.host, port: address.port });
    } catch (error) {
      throw new ListenError(`cannot listen on ${formatListenAddress(address)}: ${(error as Error).message}`, { cause: error });
    }
    const bound = this.app.server.address();
    const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
    return { host: address.host, port };
  }

  async close(): Promise<void> {
    this.feed.close();
    await this.app.close();
  }

  private routes(): void {
    const { deps } = this;
    this.app.setErrorHandler((error: Error, request, reply) => {
      deps.logger.error({ source: 'http', url: request.url, err: error }, `HTTP ${request.method} ${request.url} failed: ${error.message}`);
      void reply.status(500).type('application/json').send({ error: error.message });
    });
    this.app.setNotFoundHandler((request, reply) => void reply.status(404).type('application/json').send({ error: `no route ${request.method} ${request.url}` }));

    this.app.get('/healthz', async (_request, reply) => reply.type('text/plain; charset=utf-8').send('ok\n'));
    this.app.get('/readyz', async (_request, reply) => {
      const readiness = deps.readiness();
      if (readiness.ready) return reply.type('text/plain; charset=utf-8').send('ok\n');
      return reply.status(503).type('text/plain; charset=utf-8').send(`not ready:\n${readiness.reasons.map((r) => `- ${r}\n`).join('')}`);
    });
    this.app.get('/metrics', async (_request, reply) => reply.type(deps.metrics.contentType).send(await deps.metrics.metrics()));
    this.app.get('/api/apps', async () => (await deps.snapshot()).apps);
    this.app.get<{ Querystring: { app?: string } }>('/api/events', async (request) => {
      const events = (await deps.snapshot()).events ?? [];
      return request.query.app === undefined ? events : events.filter((e) => e.app === request.query.app);
    });
    this.app.get<{ Params: { name: string } }>('/api/apps/:name', async (request, reply) => {
      const app = (await deps.snapshot()).apps.find((a) => a.app === request.params.name);
      if (!app) return reply.status(404).send({ error: `no app "${request.params.name}" in namespace "${deps.namespace}"` });
      return app;
    });
    this.app.get('/', async (_request, reply) => {
      const html = renderStatusPage({ namespace: deps.namespace, now: deps.clock.now(), ...(await deps.snapshot()) });
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
    });
    this.app.get('/events', (_request, reply) => {
      reply.hijack();
      this.feed.attach(reply.raw);
    });
    if (deps.gitWebhook) this.webhookRoute(deps.gitWebhook);
  }

  /** Verified before anything else happens: a bad or missing signature fetches nothing. */
  private webhookRoute(hook: GitWebhook): void {
    void this.app.register(async (scope) => {
      // The signature covers the exact bytes: the body stays raw, whatever its content type.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_request, body, done) => done(null, body));
      scope.post('/hooks/git', { bodyLimit: WEBHOOK_BODY_LIMIT }, async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const verdict = verifyWebhook(request.headers, body, hook.secret);
        if (!verdict.ok) {
          this.deps.logger.warn({ source: 'webhook', reason: verdict.reason }, `git webhook refused: ${verdict.reason}`);
          return reply.status(401).send({ error: verdict.reason });
        }
        if (verdict.ref !== undefined && verdict.ref !== `refs/heads/${hook.branch}`) return reply.status(202).send({ ignored: `a push to ${verdict.ref}, not refs/heads/${hook.branch}` });
        this.deps.logger.info({ source: 'webhook', provider: verdict.provider, ref: verdict.ref }, `git webhook from ${verdict.provider}: fetching now`);
        hook.onPush();
        return reply.status(202).send({ fetching: true });
      });
    });
  }
}
