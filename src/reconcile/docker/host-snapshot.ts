/**
 * What one resync sees of the host, in two engine calls whatever the number of apps: every
 * managed container of the namespace (one list, label-filtered) and every image (one list),
 * with the apps the proxy routes. It answers image and route lookups the way the engine and
 * the proxy would, so the planner can run on it.
 */
import type { App } from '../../manifest/types.js';
import type { RouteExtras, TrafficRouter } from '../../proxy/types.js';
import type { ContainerSummary, ImageInfo, Runtime } from '../../runtime/types.js';
import type { ImageSource } from './local-image.js';
import type { RouteLookup } from './observe.js';
import type { Claim } from '../../manifest/claims.js';
import { containersByApp } from './containers-by-app.js';
import { heldClaims } from './held-claims.js';

export class HostSnapshot implements ImageSource, RouteLookup {
  private readonly byApp: Map<string, ContainerSummary[]>;
  private readonly byRef = new Map<string, ImageInfo>();
  private readonly routed: Set<string>;
  /** Whether an app holds a claim, as its containers and route show. */
  readonly holds: (app: string, claim: Claim) => boolean;

  constructor(
    containers: readonly ContainerSummary[],
    images: readonly ImageInfo[],
    private readonly traffic: Pick<TrafficRouter, 'isRouted'>,
    routed: readonly string[],
  ) {
    this.routed = new Set(routed);
    this.holds = heldClaims(containers, routed);
    this.byApp = containersByApp(containers);
    for (const image of images) {
      this.byRef.set(image.id, image);
      for (const tag of image.repoTags) this.byRef.set(tag, image);
    }
  }

  static async take(runtime: Runtime, traffic: TrafficRouter, namespace: string): Promise<HostSnapshot> {
    const [containers, images, routed] = await Promise.all([
      runtime.listContainers(namespace),
      runtime.listImages(),
      traffic.routed(),
    ]);
    return new HostSnapshot(containers, images, traffic, routed);
  }

  /** Apps that have at least one container or a route. */
  apps(): string[] {
    return [...new Set([...this.byApp.keys(), ...this.routed])];
  }

  async hasRoute(name: string): Promise<boolean> {
    return this.routed.has(name);
  }

  /** Asks the proxy itself: its own files are the only record of a hand edit. */
  isRouted(app: App, endpoints: string[], extras: RouteExtras = {}): Promise<boolean> {
    return this.traffic.isRouted(app, endpoints, extras);
  }

  containersOf(app: string): ContainerSummary[] {
    return this.byApp.get(app) ?? [];
  }

  /**
   * The image `ref` (repo:tag or id) names in the list. The engine lists Docker Hub images by
   * their short name (`nginx:1.27`), so the long forms are tried short too; a reference the list
   * spells differently reads as missing, which can only make a resync reconcile an app it could skip.
   */
  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    return this.byRef.get(ref) ?? this.byRef.get(ref.replace(/^(?:docker\.io|index\.docker\.io)\/(?:library\/)?/, ''));
  }
}
