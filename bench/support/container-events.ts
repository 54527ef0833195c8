/**
 * The engine's container events of one namespace (containers labelled `berth.namespace=<ns>`),
 * each stamped with `performance.now()` on arrival, straight from the engine's socket (not
 * through berth, nor through the counting proxy). Benchmarks time berth and the raw CLI against
 * the same stream, so the delivery delay counts the same for both.
 */
import { request, type ClientRequest } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface ContainerEvent {
  action: string;
  id: string;
  name: string;
  app: string | undefined;
  /** A `die` event's exit code. */
  exitCode: string | undefined;
  at: number;
}

export class ContainerEvents {
  readonly events: ContainerEvent[] = [];
  private waiters: (() => void)[] = [];

  private constructor(private readonly stream: ClientRequest) {}

  static start(
    namespace: string,
    socketPath = '/var/run/docker.sock',
    actions: string[] = ['start', 'destroy'],
  ): Promise<ContainerEvents> {
    const filters = JSON.stringify({ type: ['container'], label: [`berth.namespace=${namespace}`], event: actions });
    return new Promise((resolve, reject) => {
      const req = request({ socketPath, path: `/events?filters=${encodeURIComponent(filters)}` }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`engine events: HTTP ${res.statusCode}`));
        let buffered = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          buffered += chunk;
          const lines = buffered.split('\n');
          buffered = lines.pop() ?? '';
          for (const line of lines) if (line.trim() !== '') watcher.record(JSON.parse(line) as EngineEvent);
        });
        resolve(watcher);
      });
      const watcher = new ContainerEvents(req);
      req.on('error', reject);
      req.end();
    });
  }

  /** Resolves with the events from index `from` on once `enough` says they suffice; rejects after `timeoutMs`. */
  async waitUntil(
    from: number,
    enough: (events: ContainerEvent[]) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<ContainerEvent[]> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const seen = this.events.slice(from);
      if (enough(seen)) return seen;
      const left = deadline - performance.now();
      if (left <= 0)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${seen.length} events seen)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.stream.destroy();
  }

  private record(event: EngineEvent): void {
    const attributes = event.Actor?.Attributes ?? {};
    this.events.push({
      action: event.Action ?? event.status ?? '',
      id: event.Actor?.ID ?? event.id ?? '',
      name: attributes.name ?? '',
      app: attributes['berth.app'],
      exitCode: attributes.exitCode,
      at: performance.now(),
    });
    for (const wake of this.waiters.splice(0)) wake();
  }
}

interface EngineEvent {
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}
