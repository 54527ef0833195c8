/**
 * What a plan changes about an app, field by field: the image, the env keys, the published ports
 * and the replica count of what runs now against what the manifest wants. Pure: the plan command
 * gathers both shapes.
 *
 * Env values are secrets: a line names the key and, for a changed value, says "value changed";
 * no value ever reaches a line.
 */
import type { PortSpec } from '../../manifest/types.js';
import { shortId } from '../../util/short-id.js';

export interface AppShape {
  /** The reference the image is known by (`repository:tag`) and its `sha256:` id; either may be unknown. */
  image: { ref?: string; id?: string };
  /** The container env. For what runs now it includes the image's own env (see `imageEnv`). */
  env: Readonly<Record<string, string>>;
  /**
   * The env the running image sets by itself (PATH, ...). A running entry equal to the image's is
   * the image's, not the app's, unless the manifest names that key.
   */
  imageEnv?: Readonly<Record<string, string>>;
  /** Env keys whose values come from encrypted files: a change says `(secret changed)`. */
  secretKeys?: readonly string[];
  /** `host` undefined = an ephemeral host port. */
  ports: readonly PortSpec[];
  replicas: number;
}

export type DiffField = 'image' | 'env' | 'ports' | 'replicas';

export interface DiffLine {
  /** `+` only the manifest has it, `-` only what runs has it, `~` both, different. */
  change: '+' | '-' | '~';
  field: DiffField;
  /** Never an env value. */
  text: string;
}

/**
 * `running` against `desired`; undefined on a side means no such app there (nothing runs, or no
 * manifest), so every field shows as added or removed. Equal fields give no line.
 */
export function diffApp(running: AppShape | undefined, desired: AppShape | undefined): DiffLine[] {
  if (!running && !desired) return [];
  const runningEnv = running ? appEnvOf(running, desired?.env ?? {}) : {};
  return [
    ...diffImage(running?.image, desired?.image),
    ...diffEnv(runningEnv, desired?.env ?? {}, new Set(desired?.secretKeys ?? [])),
    ...diffPorts(running?.ports ?? [], desired?.ports ?? []),
    ...diffReplicas(running?.replicas, desired?.replicas),
  ];
}

/** Width of the field column: the longest field name and two spaces, so every app's lines align alike. */
const FIELD_WIDTH = 'replicas'.length + 2;

/** One text line per diff line: `  ~ image     example/web:v1 -> example/web:v2`. */
export function formatDiff(lines: readonly DiffLine[], indent = '  '): string[] {
  return lines.map((line) => `${indent}${line.change} ${line.field.padEnd(FIELD_WIDTH)}${line.text}`);
}

/** The entries of the running env that are the app's: those equal to the image's own are left out unless `desiredEnv` names the key. */
function appEnvOf(running: AppShape, desiredEnv: Readonly<Record<string, string>>): Record<string, string> {
  const imageEnv = running.imageEnv ?? {};
  return Object.fromEntries(
    Object.entries(running.env).filter(
      ([key, value]) => Object.hasOwn(desiredEnv, key) || !(Object.hasOwn(imageEnv, key) && imageEnv[key] === value),
    ),
  );
}

function diffImage(running: AppShape['image'] | undefined, desired: AppShape['image'] | undefined): DiffLine[] {
  if (!running) return desired ? [{ change: '+', field: 'image', text: imageLabel(desired) }] : [];
  if (!desired) return [{ change: '-', field: 'image', text: imageLabel(running) }];
  const refsDiffer = running.ref !== undefined && desired.ref !== undefined && running.ref !== desired.ref;
  const idsDiffer = running.id !== undefined && desired.id !== undefined && running.id !== desired.id;
  if (!refsDiffer && !idsDiffer) return [];
  // One name, another image (the tag was moved, or no name is known): the ids tell them apart.
  const sameLabel = imageLabel(running) === imageLabel(desired);
  const label = (image: AppShape['image']) =>
    sameLabel && image.ref !== undefined && image.id !== undefined
      ? `${image.ref} (${shortId(image.id)})`
      : imageLabel(image);
  return [{ change: '~', field: 'image', text: `${label(running)} -> ${label(desired)}` }];
}

function imageLabel(image: AppShape['image']): string {
  return image.ref ?? (image.id !== undefined ? shortId(image.id) : 'unknown image');
}

/** Keys only: a changed value is reported as changed, never shown. */
function diffEnv(
  running: Readonly<Record<string, string>>,
  desired: Readonly<Record<string, string>>,
  secret: ReadonlySet<string>,
): DiffLine[] {
  const keys = [...new Set([...Object.keys(running), ...Object.keys(desired)])].sort();
  return keys.flatMap((key): DiffLine[] => {
    const inRunning = Object.hasOwn(running, key);
    const inDesired = Object.hasOwn(desired, key);
    if (inRunning && inDesired)
      return running[key] === desired[key]
        ? []
        : [{ change: '~', field: 'env', text: `${key}: (${secret.has(key) ? 'secret' : 'value'} changed)` }];
    return [{ change: inDesired ? '+' : '-', field: 'env', text: key }];
  });
}

/** Compared per container port and protocol (`8080/tcp`), by the host bindings asked for. */
function diffPorts(running: readonly PortSpec[], desired: readonly PortSpec[]): DiffLine[] {
  const before = bindingsByPort(running);
  const after = bindingsByPort(desired);
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort(comparePortKeys);
  return keys.flatMap((key): DiffLine[] => {
    const was = before.get(key);
    const will = after.get(key);
    if (was === undefined) return [{ change: '+', field: 'ports', text: `${key}: ${will}` }];
    if (will === undefined) return [{ change: '-', field: 'ports', text: `${key}: ${was}` }];
    return was === will ? [] : [{ change: '~', field: 'ports', text: `${key}: ${was} -> ${will}` }];
  });
}

/** `8080/tcp` -> `127.0.0.1:*, [::1]:9000` (sorted, so equal bindings give equal text). */
function bindingsByPort(ports: readonly PortSpec[]): Map<string, string> {
  const grouped = new Map<string, string[]>();
  for (const port of ports) {
    const key = `${port.container}/${port.protocol}`;
    const hostIp = port.hostIp === '' ? '*' : port.hostIp.includes(':') ? `[${port.hostIp}]` : port.hostIp;
    grouped.set(key, [...(grouped.get(key) ?? []), `${hostIp}:${port.host ?? '*'}`]);
  }
  return new Map([...grouped].map(([key, bindings]) => [key, [...new Set(bindings)].sort().join(', ')]));
}

/** By port number, then protocol. */
function comparePortKeys(a: string, b: string): number {
  const [portA = '', protocolA = ''] = a.split('/');
  const [portB = '', protocolB = ''] = b.split('/');
  return Number(portA) - Number(portB) || protocolA.localeCompare(protocolB);
}

function diffReplicas(running: number | undefined, desired: number | undefined): DiffLine[] {
  if (running === undefined)
    return desired === undefined ? [] : [{ change: '+', field: 'replicas', text: String(desired) }];
  if (desired === undefined) return [{ change: '-', field: 'replicas', text: String(running) }];
  return running === desired ? [] : [{ change: '~', field: 'replicas', text: `${running} -> ${desired}` }];
}
