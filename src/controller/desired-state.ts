/**
 * The desired state of every app, derived from successive reads of the manifest directory.
 * Holds each app's last valid manifest so that an invalid or conflicting edit, an emptied or
 * unreadable directory, or a file that no longer parses never stops or removes a running app:
 * while any file cannot be attributed to an app (a YAML syntax error, say), no app is removed,
 * and a directory that names no app at all (no files, or only comments) counts as empty.
 */
import { formatProblem, type App, type ManifestProblem, type ManifestSet } from '../manifest/types.js';
import type { Desired } from '../reconcile/actions.js';
import { canonicalJson } from '../util/canonical-json.js';
import { imageRef } from '../manifest/image-ref.js';

export class DesiredState {
  private set: ManifestSet | undefined;
  private readonly lastValid = new Map<string, App>();

  constructor(private readonly allowEmpty: boolean) {}

  /** Takes a new read of the directory; returns the apps whose desired state changed. */
  update(set: ManifestSet): string[] {
    const before = new Map(this.names().map((name) => [name, this.fingerprint(name)]));
    this.set = set;
    for (const [name, app] of set.apps) this.lastValid.set(name, app);
    for (const name of [...this.lastValid.keys()]) {
      if (this.get(name).kind === 'absent') this.lastValid.delete(name);
    }
    const names = new Set([...before.keys(), ...this.names()]);
    return [...names].filter((name) => before.get(name) !== this.fingerprint(name)).sort();
  }

  get(name: string): Desired {
    const set = this.set;
    if (!set) return { kind: 'absent', hold: 'the manifest directory has not been read yet' };
    const app = set.apps.get(name);
    if (app) return { kind: 'present', app };
    const last = this.lastValid.get(name);
    /** Keeps the last valid manifest; `invalid` says the app's own manifest is the problem (not the directory, not another file). */
    const keep = (why: string, invalid = false): Desired => (last ? { kind: 'present', app: last, invalid: why } : { kind: 'absent', hold: why, ...(invalid ? { invalid: why } : {}) });

    const conflict = set.conflicts.get(name);
    if (conflict) return keep(`app "${name}" is defined in more than one file (${conflict.join(', ')}); keeping its last valid manifest`, true);
    if (set.invalid.has(name)) {
      const problem = set.problems.find((p) => p.app === name);
      return keep(problem ? formatProblem(problem) : `the manifest of "${name}" is invalid`, true);
    }
    const directory = set.directory === 'ok' && set.apps.size === 0 && set.invalid.size === 0 && set.conflicts.size === 0 ? 'empty' : set.directory;
    if (directory !== 'ok' && !(directory === 'empty' && this.allowEmpty)) {
      return keep(`the manifest directory is ${directory}; nothing is removed${directory === 'empty' ? ' without --allow-empty' : ''}`);
    }
    const unattributed = set.problems.find((p) => p.app === undefined);
    if (unattributed) return keep(`removal held while a manifest cannot be read (it may define this app): ${formatProblem(unattributed)}`);
    return { kind: 'absent' };
  }

  /** Every app a manifest names or last named (valid, invalid or conflicting). */
  names(): string[] {
    const names = new Set(this.lastValid.keys());
    for (const name of this.set?.apps.keys() ?? []) names.add(name);
    for (const name of this.set?.invalid ?? []) names.add(name);
    for (const name of this.set?.conflicts.keys() ?? []) names.add(name);
    return [...names].sort();
  }

  problems(): ManifestProblem[] {
    return this.set?.problems ?? [];
  }

  /** Apps that wait for `ref` (`repository:tag`). */
  waitingFor(ref: string): string[] {
    return this.names().filter((name) => {
      const desired = this.get(name);
      return desired.kind === 'present' && imageRef(desired.app.spec.image, desired.app.spec.tag) === ref;
    });
  }

  private fingerprint(name: string): string {
    const desired = this.get(name);
    if (desired.kind === 'absent') return canonicalJson(desired);
    return canonicalJson({ spec: desired.app.spec, invalid: desired.invalid ?? null });
  }
}
