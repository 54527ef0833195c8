/**
 * What one resync sees of the host, in two engine calls whatever the number of apps: every
 * managed container of the namespace (one list, label-filtered) and every image (one list).
 * It answers image lookups the way `inspectImage` would, so the planner can run on it.
 */
import type { ContainerSummary, ImageInfo, Runtime } from '../runtime/types.js';
import type { ImageSource } from './local-image.js';

export class HostSnapshot implements ImageSource {
  private readonly byApp = new Map<string, ContainerSummary[]>();
  private readonly byRef = new Map<string, ImageInfo>();

  constructor(containers: readonly ContainerSummary[], images: readonly ImageInfo[]) {
    for (const container of containers) {
      const list = this.byApp.get(container.app);
      if (list) list.push(container);
      else this.byApp.set(container.app, [container]);
    }
    for (const image of images) {
      this.byRef.set(image.id, image);
      for (const tag of image.repoTags) this.byRef.set(tag, image);
    }
  }

  static async take(runtime: Runtime, namespace: string): Promise<HostSnapshot> {
    const [containers, images] = await Promise.all([runtime.listContainers(namespace), runtime.listImages()]);
    return new HostSnapshot(containers, images);
  }

  /** Apps that have at least one container. */
  apps(): string[] {
    return [...this.byApp.keys()];
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
