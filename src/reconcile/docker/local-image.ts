/** How berth finds an app's image on this host, shared by the reconciler and `tags:deploy`. */
import type { ImageInfo, Runtime } from '../../runtime/types.js';
import { appRepository, imageRef } from '../../manifest/image-ref.js';

/** Where images are looked up: the engine (an inspect per reference) or a snapshot of one image list. */
export type ImageSource = Pick<Runtime, 'inspectImage'>;

export interface LocalImage {
  /** What `<image>:<tag>` resolves to here; undefined when berth would have to pull it. */
  found?: ImageInfo;
  /** `<namespace>/<app>:<tag>`, when `image` is another repository (berth's mirror of a pull). */
  mirror?: ImageInfo;
}

/**
 * Resolves `<image>:<tag>`. A kept mirror of a pull from this very repository (its repo digests
 * name `image`) stands in for a pulled tag someone removed; a mirror from elsewhere never does.
 */
export async function resolveLocalImage(
  images: ImageSource,
  namespace: string,
  app: string,
  image: string,
  tag: string,
): Promise<LocalImage> {
  const remote = image !== appRepository(namespace, app);
  const [direct, mirror] = await Promise.all([
    images.inspectImage(imageRef(image, tag)),
    remote ? images.inspectImage(imageRef(appRepository(namespace, app), tag)) : undefined,
  ]);
  const found = direct ?? (mirror?.repoDigests.some((d) => d.startsWith(`${image}@`)) ? mirror : undefined);
  return { ...(found ? { found } : {}), ...(mirror ? { mirror } : {}) };
}

/** `spec.digest` matches the image id or one of its repo digests. */
export function digestMatches(image: { id: string; repoDigests: readonly string[] }, digest: string): boolean {
  return image.id === digest || image.repoDigests.some((d) => d.endsWith(`@${digest}`));
}
