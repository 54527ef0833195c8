import type { ContainerSummary } from '../../runtime/types.js';

/** One namespace's listed containers grouped by app, in list order. Pure. */
export function containersByApp(containers: readonly ContainerSummary[]): Map<string, ContainerSummary[]> {
  const byApp = new Map<string, ContainerSummary[]>();
  for (const container of containers) {
    const listed = byApp.get(container.app);
    if (listed) listed.push(container);
    else byApp.set(container.app, [container]);
  }
  return byApp;
}
