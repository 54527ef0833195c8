/**
 * Every tag a look at a repository finds: the registry's list and the engine's own images, once
 * each. A repository the registry does not know (404) is one only this host has (docker load, a
 * CI build here): the engine's tags are all there is. Any other registry failure rejects.
 */
import type { TagSources } from './automation.js';
import { RegistryError } from './registry-client.js';

export async function candidateTags(sources: TagSources, repository: string, signal: AbortSignal): Promise<string[]> {
  const [registry, engine] = await Promise.all([
    sources.registry(repository, signal).catch((error: unknown) => {
      if (error instanceof RegistryError && error.kind === 'not-found') return [];
      throw error;
    }),
    sources.engine(repository),
  ]);
  return [...new Set([...registry, ...engine])];
}
