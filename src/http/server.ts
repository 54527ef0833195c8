/**
 * `run --listen HOST:PORT`: the operators' HTTP surface, read-only.
 *   /healthz        200 while the process serves requests
 *   /readyz         200 once the initial sync is done and the engine answers; 503 with the reasons otherwise
 *                   (a standby of Swarm leader election: 503 `standby`)
 *   /metrics        Prometheus text format
 *   /api/apps       every app as JSON (the shape of `berth status --json`); /api/apps/NAME one app, 404 when unknown
 *   /api/events     the timeline as JSON, newest last (?app=NAME for one app)
 *   /api/lease      on Swarm: this replica's role and the lease as it sees them (404 without a lease)
 *   /               the status page; /events its server-sent events
 *   POST /hooks/git with --git and --git-webhook-secret-file: a signed push webhook fetches at once
 *   POST /hooks/registry with --registry-webhook-secret-file: a registry's push notification
 *                   (CNCF distribution, Docker Hub, Harbor) wakes the image policies of that repository
 *
 * Bounded (ListenLimits): the page, /api, /events, /metrics and unknown paths answer only the Host
 * names of --listen (HostAllowList; 421 otherwise), every path but the probes draws from its
 * client's request budget (429 with Retry-After beyond it), connections are counted and timed.
 * /hooks/git and /hooks/registry (their secret is their check), /healthz and /readyz (probes send any Host; they show
 * nothing) answer whatever the Host; the probes are not rate-limited either (they cost less than
 * a refusal). Nothing here asks the engine: `snapshot` serves what berth already knows.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import type { Readiness } from '../controller/controller.js';
import type { AppStatus } from '../status/app-status.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { ListenError } from './errors.js';
import { clientKey, HostAllowList, RateLimiter } from './guard.js';
import { DEFAULT_LISTEN_LIMITS, formatListenAddress, type ListenAddress, type ListenLimits } from './listen-address.js';
import { LiveFeed } from './live-feed.js';
import { diffLive, type LiveModel } from './live-patch.js';
import { liveModel, renderStatusPage } from './status-page.js';
import { verifyWebhook } from '../source/git/webhook.js';
import { carriesSecret, pushedImages } from '../images/registry-webhook.js';
import type { BerthEvent } from '../events/types.js';

interface StatusSnapshot {
  apps: AppStatus[];
  /** Set while the controller cannot reach the Docker engine. */
  outage?: string;
  /** `file:line:col: message` per problem in the manifest directory. */
  problems?: string[];
  /** The git source's condition in words, when berth follows a repository. */
  source?: string;
  /** On Swarm with leader election: this replica's role and the lease, in words. */
  lease?: string;
  /** The timeline, newest last. */
  events?: BerthEvent[];
}

/** `POST /hooks/git`: a push webhook that makes the git source look at once. */
interface GitWebhook {
  secret: string;
  branch: string;
  /** Called for a verified push to the branch. */
  onPush(): void;
}

/** `POST /hooks/registry`: a registry's push notification wakes the image policies of the pushed repository. */
interface RegistryWebhook {
  secret: Buffer;
  /** Called with each pushed repository; returns the followed repositories it woke. */
  onPush(repository: string): string[];
}

/** A push event's body is a few KiB; anything much larger is refused before it is read whole. */
const WEBHOOK_BODY_LIMIT = 1024 * 1024;

interface StatusServerDeps {
  namespace: string;
  readiness(): Readiness;
  /** What berth knows now (its state, the controller's last look at the host); never asks the engine, never rejects. */
  snapshot(): Promise<StatusSnapshot>;
  /** Subscribes to state changes; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
  metrics: Registry;
  clock: Clock;
  logger: Logger;
  gitWebhook?: GitWebhook;
  registryWebhook?: RegistryWebhook;
  /** On Swarm with leader election: the lease as this replica sees it (`/api/lease`); absent: 404 there. */
  lease?(): Record<string, unknown>;
  /** Defaults: DEFAULT_LISTEN_LIMITS. */
  limits?: Partial<ListenLimits>;
}

/** A connection that makes no progress (a response its client does not read) this long is closed; the live feed writes every 10 s. */
const STALLED_CONNECTION_MS = 60_000;
/** Routes any Host may reach: the signed webhook, and the probes. */
const ANY_HOST = new Set(['/healthz', '/readyz', '/hooks/git', '/hooks/registry']);
/** Routes outside the request budget: the probes, cheaper to answer than to refuse. */
const UNMETERED = new Set(['/healthz', '/readyz']);
/** Distinct refused Host names logged (each once), so that a flood of them cannot flood the log. */
const LOGGED_HOSTS = 32;

type RefusalReason = 'host' | 'rate' | 'connections' | 'body';
/** A refused webhook body is logged at most this often (anyone may send one: the body is refused before its signature is read). */
const BODY_REFUSAL_LOG_MS = 60_000;

export class StatusServer {
  private readonly app: FastifyInstance;
  private readonly feed: LiveFeed<LiveModel>;
  private readonly limits: ListenLimits;
  private readonly rate: RateLimiter;
  private readonly refused: Counter<'reason'>;
  private readonly loggedHosts = new Set<string>();
  private bodyRefusalLoggedAt = Number.NEGATIVE_INFINITY;
  /** Set by `listen`: the names are --listen's. */
  private hosts: HostAllowList | undefined;

  constructor(private readonly deps: StatusServerDeps) {
    this.limits = { ...DEFAULT_LISTEN_LIMITS, ...deps.limits };
    this.rate = new RateLimiter(this.limits.ratePerMinute, deps.clock);
    this.refused =
      (deps.metrics.getSingleMetric('berth_http_refused_total') as Counter<'reason'> | undefined) ??
      new Counter({
        name: 'berth_http_refused_total',
        help: 'Requests and connections --listen refused, per reason (host, rate, connections, body: a request body over its limit).',
        labelNames: ['reason'] as const,
        registers: [deps.metrics],
      });
    for (const reason of ['host', 'rate', 'connections', 'body'] satisfies RefusalReason[])
      this.refused.inc({ reason }, 0);
    this.feed = new LiveFeed({
      clock: deps.clock,
      onChange: deps.onChange,
      // Ages are written by the page's script: a render that only moves the clock sends nothing.
      render: async () =>
        liveModel({ namespace: deps.namespace, now: deps.clock.now(), ...(await deps.snapshot()) }, 'client'),
      html: (model) => model.html,
      diff: diffLive,
      now: (model) => model.now,
    });
    const { headerTimeoutMs, requestTimeoutMs } = this.limits;
    this.app = Fastify({
      logger: false,
      // Event streams never end on their own: closing the server must cut them.
      forceCloseConnections: true,
      return503OnClosing: true,
      keepAliveTimeout: this.limits.keepAliveTimeoutMs,
      requestTimeout: requestTimeoutMs,
      connectionTimeout: Math.max(STALLED_CONNECTION_MS, requestTimeoutMs),
      // Node looks for overdue headers and requests every connectionsCheckingInterval.
      http: {
        headersTimeout: headerTimeoutMs,
        connectionsCheckingInterval: Math.max(
          50,
          Math.min(1_000, Math.floor(Math.min(headerTimeoutMs, requestTimeoutMs) / 4)),
        ),
      },
    });
    this.app.server.maxConnections = this.limits.maxConnections;
    this.app.server.on('drop', () => this.refused.inc({ reason: 'connections' }));
    this.guard();
    this.routes();
  }

  /** Resolves with the bound address (port 0 picks a free one); rejects with ListenError. */
  async listen(address: ListenAddress): Promise<ListenAddress> {
    this.hosts = new HostAllowList(address, this.limits.hosts);
    try {
      await this.app.listen({ host: address.host, port: address.port });
    } catch (error) {
      throw new ListenError(`cannot listen on ${formatListenAddress(address)}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const bound = this.app.server.address();
    const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
    return { host: address.host, port };
  }

  /** Before every route: the Host check, then the client's request budget. */
  private guard(): void {
    this.app.addHook('onRequest', async (request, reply) => {
      const route = request.routeOptions.url;
      const host = request.headers.host;
      // An unrouted /hooks/ path (no --git) answers its 404 to any Host, as the webhook would: nothing to shield there.
      const anyHost = route !== undefined ? ANY_HOST.has(route) : request.url.startsWith('/hooks/');
      if (!anyHost && !(this.hosts?.allows(host) ?? false)) {
        this.refused.inc({ reason: 'host' });
        const shown = JSON.stringify((host ?? '').slice(0, 100));
        if (host !== undefined && this.loggedHosts.size < LOGGED_HOSTS && !this.loggedHosts.has(host)) {
          this.loggedHosts.add(host);
          this.deps.logger.warn(
            { source: 'http', host: host.slice(0, 100) },
            `HTTP: refused a request for Host ${shown} (not a name of --listen: a DNS rebinding, or a name to add with --listen-host)`,
          );
        }
        return reply
          .code(421)
          .type('text/plain; charset=utf-8')
          .header('x-content-type-options', 'nosniff')
          .send(`misdirected request: Host ${shown} is not a name of this server (add one with --listen-host NAME)\n`);
      }
      if (route !== undefined && UNMETERED.has(route)) return undefined;
      const verdict = this.rate.take(clientKey(request.socket.remoteAddress));
      if (verdict.ok) return undefined;
      this.refused.inc({ reason: 'rate' });
      return reply
        .code(429)
        .type('text/plain; charset=utf-8')
        .header('retry-after', String(verdict.retryAfterSeconds))
        .send(
          `too many requests from this address (more than ${this.limits.ratePerMinute} a minute); retry in ${verdict.retryAfterSeconds} s\n`,
        );
    });
  }

  async close(): Promise<void> {
    this.feed.close();
    await this.app.close();
  }

  private routes(): void {
    const { deps } = this;
    this.app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, reply) => {
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return this.refuseBody(request.url, reply);
      // The client's mistake (a Content-Length that does not match its body, ...): its own status, not a server error.
      if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        return void reply.status(error.statusCode).type('application/json').send({ error: error.message });
      }
      deps.logger.error(
        { source: 'http', url: request.url, err: error },
        `HTTP ${request.method} ${request.url} failed: ${error.message}`,
      );
      void reply.status(500).type('application/json').send({ error: error.message });
    });
    this.app.setNotFoundHandler(
      (request, reply) =>
        void reply
          .status(404)
          .type('application/json')
          .send({ error: `no route ${request.method} ${request.url}` }),
    );

    this.app.get('/healthz', async (_request, reply) => reply.type('text/plain; charset=utf-8').send('ok\n'));
    this.app.get('/readyz', async (_request, reply) => {
      const readiness = deps.readiness();
      if (readiness.ready) return reply.type('text/plain; charset=utf-8').send('ok\n');
      return reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .send(`not ready:\n${readiness.reasons.map((r) => `- ${r}\n`).join('')}`);
    });
    this.app.get('/metrics', async (_request, reply) =>
      reply.type(deps.metrics.contentType).send(await deps.metrics.metrics()),
    );
    this.app.get('/api/apps', async () => (await deps.snapshot()).apps);
    this.app.get('/api/lease', async (_request, reply) =>
      deps.lease ? deps.lease() : reply.status(404).send({ error: 'no lease: this berth runs alone (not on Swarm)' }),
    );
    this.app.get<{ Querystring: { app?: string } }>('/api/events', async (request) => {
      const events = (await deps.snapshot()).events ?? [];
      return request.query.app === undefined ? events : events.filter((e) => e.app === request.query.app);
    });
    this.app.get<{ Params: { name: string } }>('/api/apps/:name', async (request, reply) => {
      const app = (await deps.snapshot()).apps.find((a) => a.app === request.params.name);
      if (!app)
        return reply.status(404).send({ error: `no app "${request.params.name}" in namespace "${deps.namespace}"` });
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
    if (deps.registryWebhook) this.registryWebhookRoute(deps.registryWebhook);
  }

  /** 413 for a body over its route's limit (only /hooks/git reads one), counted as refused{reason="body"}. */
  private refuseBody(url: string, reply: FastifyReply): void {
    this.refused.inc({ reason: 'body' });
    const now = this.deps.clock.now();
    if (now - this.bodyRefusalLoggedAt >= BODY_REFUSAL_LOG_MS) {
      this.bodyRefusalLoggedAt = now;
      this.deps.logger.warn(
        { source: 'http', url: url.slice(0, 100) },
        `HTTP: refused a request body over the ${WEBHOOK_BODY_LIMIT / 1024 / 1024} MiB limit (413; berth_http_refused_total{reason="body"} counts them)`,
      );
    }
    void reply
      .status(413)
      .type('application/json')
      .header('connection', 'close')
      .send({ error: `request body over the ${WEBHOOK_BODY_LIMIT / 1024 / 1024} MiB limit` });
  }

  /** Verified before anything else happens: a bad or missing signature fetches nothing. */
  private webhookRoute(hook: GitWebhook): void {
    void this.app.register(async (scope) => {
      // The signature covers the exact bytes: the body stays raw, whatever its content type.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_request, body, done) =>
        done(null, body),
      );
      scope.post('/hooks/git', { bodyLimit: WEBHOOK_BODY_LIMIT }, async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const verdict = verifyWebhook(request.headers, body, hook.secret);
        if (!verdict.ok) {
          this.deps.logger.warn(
            { source: 'webhook', reason: verdict.reason },
            `git webhook refused: ${verdict.reason}`,
          );
          return reply.status(401).send({ error: verdict.reason });
        }
        if (verdict.ref !== undefined && verdict.ref !== `refs/heads/${hook.branch}`)
          return reply.status(202).send({ ignored: `a push to ${verdict.ref}, not refs/heads/${hook.branch}` });
        this.deps.logger.info(
          { source: 'webhook', provider: verdict.provider, ref: verdict.ref },
          `git webhook from ${verdict.provider}: fetching now`,
        );
        hook.onPush();
        return reply.status(202).send({ fetching: true });
      });
    });
  }

  /** The secret is checked before the body is read: a caller without it wakes nothing, learns nothing and sends no body. */
  private registryWebhookRoute(hook: RegistryWebhook): void {
    void this.app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_request, body, done) =>
        done(null, body),
      );
      // onRequest: before the body is read, so a caller without the secret cannot make berth hold one.
      const onRequest = async (request: FastifyRequest, reply: FastifyReply) => {
        if (carriesSecret(request.headers.authorization, hook.secret)) return;
        this.deps.logger.warn({ source: 'webhook' }, 'registry webhook refused: no valid shared secret');
        await reply.status(401).header('connection', 'close').send({ error: 'no valid shared secret' });
      };
      scope.post('/hooks/registry', { bodyLimit: WEBHOOK_BODY_LIMIT, onRequest }, async (request, reply) => {
        let pushed: { repository: string }[];
        try {
          const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
          pushed = pushedImages(JSON.parse(body.toString('utf8')) as unknown);
        } catch (error) {
          const reason = error instanceof SyntaxError ? 'the body is not JSON' : (error as Error).message;
          return reply.status(400).send({ error: reason });
        }
        const woken = [...new Set(pushed.flatMap((image) => hook.onPush(image.repository)))].sort();
        this.deps.logger.info(
          { source: 'webhook', pushed: pushed.length, woken },
          `registry webhook: ${pushed.length} push(es); looking at ${woken.length > 0 ? woken.join(', ') : 'no followed repository'}`,
        );
        return reply.status(202).send({ looking: woken });
      });
    });
  }
}
