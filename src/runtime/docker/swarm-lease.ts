/**
 * The lease of ../lease.ts as a Swarm config named `<namespace>-berth-lease`: its fields are the
 * config's labels (Swarm lets only a config's labels change, which is all a lease needs), written
 * with `POST /configs/{id}/update?version=N`. Swarm refuses a stale version ("update out of
 * sequence"): that refusal is the LeaseConflictError a compare-and-swap needs. Verified on Docker
 * 20.10 (API 1.41).
 */
import type Docker from 'dockerode';
import { EngineError, LeaseConflictError, NameConflictError } from '../errors.js';
import type { LeaseFields, LeaseRecord, LeaseStore } from '../lease.js';
import { LABEL_MANAGED, LABEL_NAMESPACE } from '../types.js';
import { oneLine } from '../../util/strip-control.js';
import { EngineClient } from './engine-client.js';

export const LABEL_LEASE_HOLDER = 'berth.lease.holder';
export const LABEL_LEASE_HOLDER_NAME = 'berth.lease.holder-name';
export const LABEL_LEASE_RENEWED = 'berth.lease.renewed';
export const LABEL_LEASE_DURATION = 'berth.lease.duration';
export const LABEL_LEASE_TRANSITIONS = 'berth.lease.transitions';

/** A lease call waits this long at most: a renew that takes longer is as good as lost. */
const LEASE_CALL_MS = 5_000;

/** The config's content: Swarm needs some; what matters is in the labels. */
const LEASE_DATA = Buffer.from('berth lease: see the labels\n').toString('base64');

/** The lease of `namespace` on the swarm DOCKER_HOST (or `dockerHost`) manages. */
export function createSwarmLease(namespace: string, options: { dockerHost?: string } = {}): LeaseStore {
  return new SwarmLease(new EngineClient(options.dockerHost ?? process.env.DOCKER_HOST, process.env), namespace);
}

/** The config's name for `namespace`. */
export function leaseName(namespace: string): string {
  return `${namespace}-berth-lease`;
}

interface Modem {
  dial(options: Record<string, unknown>, callback: (error: unknown, data: unknown) => void): void;
}

interface RawConfig {
  ID: string;
  Version?: { Index?: number };
  Spec?: { Name?: string; Labels?: Record<string, string> };
}

class SwarmLease implements LeaseStore {
  private readonly name: string;

  constructor(
    private readonly engine: EngineClient,
    private readonly namespace: string,
  ) {
    this.name = leaseName(namespace);
  }

  async read(): Promise<LeaseRecord | undefined> {
    const configs = await this.engine.call(
      { operation: 'readLease', object: this.name, deadlineMs: LEASE_CALL_MS },
      async (docker: Docker) =>
        (await docker.listConfigs({ filters: { name: [this.name] } })) as unknown as RawConfig[],
    );
    // The name filter matches prefixes: the exact name only.
    const raw = configs.find((c) => c.Spec?.Name === this.name);
    if (!raw) return undefined;
    return recordOf(raw);
  }

  async create(fields: LeaseFields): Promise<void> {
    await this.engine.call(
      {
        operation: 'createLease',
        object: this.name,
        deadlineMs: LEASE_CALL_MS,
        byStatus: { 409: NameConflictError },
      },
      (docker: Docker) => docker.createConfig({ Name: this.name, Labels: this.labels(fields), Data: LEASE_DATA }),
    );
  }

  async update(version: number, fields: LeaseFields): Promise<void> {
    try {
      await this.engine.call(
        { operation: 'renewLease', object: this.name, deadlineMs: LEASE_CALL_MS },
        (docker: Docker) => {
          const modem = (docker as unknown as { modem: Modem }).modem;
          return new Promise((resolve, reject) =>
            modem.dial(
              {
                path: `/configs/${encodeURIComponent(this.name)}/update?`,
                method: 'POST',
                statusCodes: { 200: true },
                options: {
                  _query: { version },
                  _body: { Name: this.name, Labels: this.labels(fields), Data: LEASE_DATA },
                },
              },
              (error, data) => (error ? reject(error) : resolve(data)),
            ),
          );
        },
      );
    } catch (error) {
      if (error instanceof EngineError && /out of sequence/i.test(error.message))
        throw new LeaseConflictError('renewLease', `renewLease ${this.name}: another replica wrote the lease first`, {
          cause: error,
        });
      throw error;
    }
  }

  private labels(fields: LeaseFields): Record<string, string> {
    return {
      [LABEL_MANAGED]: 'true',
      [LABEL_NAMESPACE]: this.namespace,
      [LABEL_LEASE_HOLDER]: fields.holder,
      [LABEL_LEASE_HOLDER_NAME]: fields.holderName,
      [LABEL_LEASE_RENEWED]: fields.renewed,
      [LABEL_LEASE_DURATION]: String(fields.durationSeconds),
      [LABEL_LEASE_TRANSITIONS]: String(fields.transitions),
    };
  }
}

/** The lease a config's labels say; labels missing or malformed read as a released lease of no duration. */
function recordOf(raw: RawConfig): LeaseRecord {
  const labels = raw.Spec?.Labels ?? {};
  const count = (value: string | undefined) => {
    const n = Number(value);
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  };
  return {
    version: raw.Version?.Index ?? 0,
    holder: labels[LABEL_LEASE_HOLDER] ?? '',
    // Anyone with the swarm's API may write these labels: bounded, and no terminal control, before a log or a page shows them.
    holderName: oneLine((labels[LABEL_LEASE_HOLDER_NAME] ?? '').slice(0, 200)),
    renewed: oneLine((labels[LABEL_LEASE_RENEWED] ?? '').slice(0, 64)),
    durationSeconds: count(labels[LABEL_LEASE_DURATION]),
    transitions: count(labels[LABEL_LEASE_TRANSITIONS]),
  };
}
