/**
 * The controller's last look at the namespace's containers, kept for the status endpoints so that
 * a page or `/api` request never asks the engine. It is fed by the controller's own engine calls:
 * `observingRuntime` wraps the runtime the reconciler and the resync use, and every container
 * list they make (the resync's whole-namespace list, each reconcile's list of its app) replaces
 * what was known, as do the starts, stops and removes berth makes itself. Engine events reconcile
 * the app they concern, which lists it: what others do to the containers shows within the
 * reconcile delay, and everything at the latest at the next resync.
 *
 * A list answers for the moment it was asked: one that began before what is known now (a resync's
 * slow list finishing after a reconcile's quick one) never overwrites it.
 */
import type { ContainerSummary, Runtime } from '../runtime/types.js';

interface Known {
  /** The order of the call that told it: later calls win. */
  seq: number;
  containers: ContainerSummary[];
}

export class ObservedContainers {
  private seq = 0;
  private readonly byApp = new Map<string, Known>();
  /** The seq of the latest whole-namespace list applied; -1 before the first. */
  private wholeSeq = -1;
  private readonly listeners = new Set<() => void>();

  constructor(readonly namespace: string) {}

  /**
   * Every container known, in list order per app; undefined until a whole-namespace list has been
   * seen (before the controller's first look at the host, nothing is known of apps it did not list).
   */
  containers(): ContainerSummary[] | undefined {
    if (this.wholeSeq < 0) return undefined;
    return [...this.byApp.values()].flatMap((known) => known.containers);
  }

  /** Called after each change of what is known; returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A list is about to be asked for (of `app`, or of the whole namespace): returns what applies its answer. */
  listing(app?: string): (containers: ContainerSummary[]) => void {
    const seq = ++this.seq;
    return (containers) => {
      const changed =
        app === undefined
          ? this.applyWhole(seq, containers)
          : this.applyApp(
              seq,
              app,
              containers.filter((c) => c.app === app),
            );
      if (changed) this.changed();
    };
  }

  /** berth started (`running`) or stopped (`exited`) container `id` itself. */
  noteState(id: string, state: ContainerSummary['state']): void {
    this.edit(id, (c) => (c.state === state ? c : { ...c, state }));
  }

  /** berth removed container `id` itself. */
  noteRemoved(id: string): void {
    this.edit(id, () => undefined);
  }

  private edit(id: string, change: (container: ContainerSummary) => ContainerSummary | undefined): void {
    for (const [app, known] of this.byApp) {
      const index = known.containers.findIndex((c) => c.id === id);
      if (index < 0) continue;
      const before = known.containers[index]!;
      const after = change(before);
      if (after === before) return;
      const containers =
        after === undefined
          ? known.containers.filter((_, i) => i !== index)
          : known.containers.map((c, i) => (i === index ? after : c));
      // What berth did is newer than any list asked before it.
      this.byApp.set(app, { seq: ++this.seq, containers });
      this.changed();
      return;
    }
  }

  private applyWhole(seq: number, containers: ContainerSummary[]): boolean {
    let changed = this.wholeSeq < 0;
    const listed = new Map<string, ContainerSummary[]>();
    for (const container of containers) listed.set(container.app, [...(listed.get(container.app) ?? []), container]);
    for (const [app, known] of [...this.byApp]) {
      if (known.seq < seq && !listed.has(app)) {
        this.byApp.delete(app);
        changed = true;
      }
    }
    for (const [app, list] of listed) changed = this.apply(seq, app, list) || changed;
    if (seq > this.wholeSeq) this.wholeSeq = seq;
    return changed;
  }

  private applyApp(seq: number, app: string, containers: ContainerSummary[]): boolean {
    // An app a later whole list did not see (and nothing since told of) stays unseen.
    if (!this.byApp.has(app) && this.wholeSeq > seq) return false;
    return this.apply(seq, app, containers);
  }

  private apply(seq: number, app: string, containers: ContainerSummary[]): boolean {
    const known = this.byApp.get(app);
    if (known !== undefined && known.seq > seq) return false;
    const same = sameContainers(known?.containers ?? [], containers);
    this.byApp.set(app, { seq, containers });
    return !same;
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

function sameContainers(a: readonly ContainerSummary[], b: readonly ContainerSummary[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((c, i) => {
    const d = b[i]!;
    return (
      c.id === d.id && c.state === d.state && c.imageId === d.imageId && c.name === d.name && c.specHash === d.specHash
    );
  });
}

/**
 * `runtime`, except that what its container lists, starts, stops and removes show of
 * `observed.namespace` is also told to `observed`. Every other member is `runtime`'s own, called
 * on `runtime` itself.
 */
export function observingRuntime(runtime: Runtime, observed: ObservedContainers): Runtime {
  const overrides: Pick<Runtime, 'listContainers' | 'startContainer' | 'stopContainer' | 'removeContainer'> = {
    async listContainers(namespace, app) {
      if (namespace !== observed.namespace) return runtime.listContainers(namespace, app);
      const apply = observed.listing(app);
      const containers = await runtime.listContainers(namespace, app);
      apply(containers);
      return containers;
    },
    async startContainer(id) {
      await runtime.startContainer(id);
      observed.noteState(id, 'running');
    },
    async stopContainer(id, timeoutSeconds) {
      await runtime.stopContainer(id, timeoutSeconds);
      observed.noteState(id, 'exited');
    },
    async removeContainer(id) {
      await runtime.removeContainer(id);
      observed.noteRemoved(id);
    },
  };
  return new Proxy(runtime, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof typeof overrides];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
