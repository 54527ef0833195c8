/**
 * The desired state of every app, derived from successive reads of the manifest directory.
 * Holds each app's last valid manifest so that an invalid or conflicting edit, an emptied or
 * unreadable directory, or a file that no longer parses never stops or removes a running app:
 * while any file cannot be attributed to an app (a YAML syntax error, say), no app is removed,
 * and a directory that names no app at all (no files, or only comments) counts as empty.
 */
import { formatProblem, type App, type ManifestProblem, type ManifestSet } from '../manifest/types.js';
import { claimKey, claimsOf, collisionMessage, type Claim } from '../manifest/claims.js';
import type { Desired } from '../reconcile/core/desired.js';
import { canonicalJson } from '../util/canonical-json.js';
import { imageRef } from '../manifest/image-ref.js';

/** Whether `app` holds `claim` on the host now (its containers publish the port, its route serves the domain). */
export type HostClaims = (app: string, claim: Claim) => boolean;

/**
 * Who gives way when apps claim one host port or domain: an app keeps a claim it holds (its last
 * valid manifest made it, or, for an app this berth has not seen yet, the host shows it held);
 * every other claimant keeps its last valid manifest and is Invalid until the files agree.
 */
export class DesiredState {
  private set: ManifestSet | undefined;
  private readonly lastValid = new Map<string, App>();
  /** Apps refused for a claim another app holds or contests: app -> the message. */
  private contested = new Map<string, string>();
  private hostClaims: HostClaims = () => false;

  constructor(
    private readonly allowEmpty: boolean,
    private readonly claimOptions: { defaultDomain?: string } = {},
  ) {}

  /** What the host holds, for judging apps this berth has no last valid manifest of (at start). */
  setHostClaims(hostClaims: HostClaims): void {
    this.hostClaims = hostClaims;
  }

  /** Takes a new read of the directory; returns the apps whose desired state changed. */
  update(set: ManifestSet): string[] {
    const before = new Map(this.names().map((name) => [name, this.fingerprint(name)]));
    this.set = set;
    this.contested = this.judgeCollisions(set);
    for (const [name, app] of set.apps) if (!this.contested.has(name)) this.lastValid.set(name, app);
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
    const last = this.lastValid.get(name);
    /** Keeps the last valid manifest; `invalid` says the app's own manifest is the problem (not the directory, not another file). */
    const keep = (why: string, invalid = false): Desired =>
      last
        ? { kind: 'present', app: last, invalid: why }
        : { kind: 'absent', hold: why, ...(invalid ? { invalid: why } : {}) };
    const contest = this.contested.get(name);
    if (app && contest !== undefined) return keep(contest, true);
    if (app) return { kind: 'present', app };

    const conflict = set.conflicts.get(name);
    if (conflict)
      return keep(
        `app "${name}" is defined in more than one file (${conflict.join(', ')}); keeping its last valid manifest`,
        true,
      );
    if (set.invalid.has(name)) {
      const problem = set.problems.find((p) => p.app === name);
      return keep(problem ? formatProblem(problem) : `the manifest of "${name}" is invalid`, true);
    }
    const directory =
      set.directory === 'ok' && set.apps.size === 0 && set.invalid.size === 0 && set.conflicts.size === 0
        ? 'empty'
        : set.directory;
    if (directory !== 'ok' && !(directory === 'empty' && this.allowEmpty)) {
      return keep(
        `the manifest directory is ${directory}; nothing is removed${directory === 'empty' ? ' without --allow-empty' : ''}`,
      );
    }
    const unattributed = set.problems.find((p) => p.app === undefined);
    if (unattributed)
      return keep(
        `removal held while a manifest cannot be read (it may define this app): ${formatProblem(unattributed)}`,
      );
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

  /** What the last read found worth saying that refuses nothing (a named volume two apps share). */
  warnings(): ManifestProblem[] {
    return this.set?.warnings ?? [];
  }

  /** Apps that wait for `ref` (`repository:tag`). */
  waitingFor(ref: string): string[] {
    return this.names().filter((name) => {
      const desired = this.get(name);
      return desired.kind === 'present' && imageRef(desired.app.spec.image, desired.app.spec.tag) === ref;
    });
  }

  /** For every collision, the claimants that give way (all of them when none holds the claim), with their message. */
  private judgeCollisions(set: ManifestSet): Map<string, string> {
    const refused = new Map<string, string>();
    for (const collision of set.collisions) {
      const holders = collision.claims.filter((claim) => this.holds(claim));
      for (const claim of collision.claims) {
        if (holders.some((h) => h.app === claim.app) || refused.has(claim.app)) continue;
        const held =
          holders.length > 0
            ? `; ${holders.map((h) => h.app).join(', ')} keeps it`
            : '; neither is deployed until the files agree';
        refused.set(claim.app, `${formatProblem({ ...claim.at, message: collisionMessage(collision, claim) })}${held}`);
      }
    }
    return refused;
  }

  /** An app holds a claim its last valid manifest made; an app not seen yet holds what the host shows it holding. */
  private holds(claim: Claim): boolean {
    const last = this.lastValid.get(claim.app);
    if (last === undefined) return this.hostClaims(claim.app, claim);
    const key = claimKey(claim);
    return claimsOf(last, this.claimOptions).some((c) => claimKey(c) === key);
  }

  private fingerprint(name: string): string {
    const desired = this.get(name);
    if (desired.kind === 'absent') return canonicalJson(desired);
    return canonicalJson({ spec: desired.app.spec, invalid: desired.invalid ?? null });
  }
}
