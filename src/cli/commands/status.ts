import { EngineUnavailableError } from '../../runtime/errors.js';
import type { ContainerSummary } from '../../runtime/types.js';
import { createDockerRuntime } from '../../runtime/docker/docker-runtime.js';
import { StateStore } from '../../state/store.js';
import { appStatuses, engineOutage, runningLabel } from '../../status/app-status.js';
import { age } from '../../util/age.js';
import { sourceLine } from '../../status/source-line.js';
import { formatTable } from '../table.js';
import { parseCommand, sharedOptions } from '../options.js';
import type { Output } from '../output.js';

/** Every managed app: berth's state beside what Docker runs now. */
export async function statusCommand(args: string[], out: Output): Promise<number> {
  const { values } = parseCommand(args, { json: { type: 'boolean', default: false } }, false);
  const shared = sharedOptions(values);
  const state = await StateStore.read(shared.stateDir, shared.namespace);
  let containers: ContainerSummary[] | undefined;
  try {
    containers = await createDockerRuntime().listContainers(shared.namespace);
  } catch (error) {
    if (!(error instanceof EngineUnavailableError)) throw error;
    out.stderr(`berth: the Docker engine is unreachable (${error.message}); showing berth's last recorded state\n`);
  }
  const outage = engineOutage(state.engine());
  if (outage !== undefined) out.stderr(`berth: ${outage}\n`);
  const statuses = appStatuses({ state, containers });
  const source = state.source();

  if (values.json) {
    out.stdout(`${JSON.stringify(statuses, null, 2)}\n`);
    return 0;
  }
  if (source) out.stdout(`source: ${sourceLine(source, Date.now())}\n`);
  if (statuses.length === 0) {
    out.stdout(`no apps in namespace "${shared.namespace}"\n`);
    return 0;
  }
  const now = Date.now();
  const rows = statuses.map((s) => [
    s.app,
    // With --git: the commit of the tree the serving deploy was read from, and the commit that last changed the app's file when another.
    (s.desiredTag ?? '-') +
      (s.commit
        ? ` (${s.commit.sha.slice(0, 7)}${s.changedBy && s.changedBy.sha !== s.commit.sha ? `, changed by ${s.changedBy.sha.slice(0, 7)}` : ''})`
        : ''),
    runningLabel(s, '-'),
    s.phase,
    age(now, toMillis(s.lastDeployAt ?? s.since)),
    s.message,
  ]);
  out.stdout(formatTable(['APP', 'DESIRED', 'RUNNING', 'PHASE', 'AGE', 'MESSAGE'], rows));
  const certificates = statuses.flatMap((s) =>
    s.certificates.map((c) => [
      c.domain,
      s.app,
      c.state,
      c.issuer ?? '-',
      c.notAfter === null ? '-' : c.notAfter.slice(0, 16).replace('T', ' '),
      c.error ?? '',
    ]),
  );
  if (certificates.length > 0)
    out.stdout(
      `\n${formatTable(['DOMAIN', 'APP', 'CERTIFICATE', 'ISSUER', 'EXPIRES (UTC)', 'LAST ERROR'], certificates)}`,
    );
  return 0;
}

function toMillis(iso: string | null): number | undefined {
  return iso === null ? undefined : Date.parse(iso);
}
