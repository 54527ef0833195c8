import { dirname, resolve as resolvePath } from 'node:path';
import path from 'node:path';
import type { ErrorObject } from 'ajv';
import type {
  App,
  CanarySpec,
  ImagePolicy,
  LoadOptions,
  ManifestProblem,
  Protocol,
  SourcePosition,
  Strategy,
} from './types.js';
import { parseManifestText, scalarRange, type ParsedDocument } from './parse.js';
import { appValidator } from './schema.js';
import { APP_NAME } from './app-name.js';
import { isWildcard } from './claims.js';
import { appRepository } from './image-ref.js';
import { compileTagPattern, semverRangeProblem } from './image-policy.js';
import { describeSchemaErrors, type NodeMessage } from './messages.js';
import { displayPath, valueAt } from './paths.js';
import { MAX_QUOTED_LENGTH, printable, quote } from './printable.js';
import { swarmFieldMessages, writtenFields } from './swarm-fields.js';

export type ValidationResult =
  | { ok: true; app: App }
  /** `app`: the document's name, when it is a valid app name, so the problems can be attributed. */
  | { ok: false; problems: ManifestProblem[]; app?: string };

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const IDENTITY_POINTERS = new Set(['/apiVersion', '/kind']);

interface ValidPort {
  container: number;
  host?: number;
  hostIp: string;
  protocol: Protocol;
}

/** A document the schema accepted, with the schema's defaults filled in. */
interface ValidDocument {
  metadata: { name: string };
  spec: {
    image?: string;
    tag: string;
    digest?: string;
    imagePolicy?: {
      semver?: string;
      pattern?: string;
      order?: 'numerical' | 'alphabetical';
      interval: number;
      minAge: number;
    };
    command?: string[];
    env: Record<string, string>;
    envFrom: Array<{ file: string }>;
    secrets: Array<{ file: string; target: string }>;
    ports: ValidPort[];
    volumes: Array<{ source: string; target: string; readOnly: boolean }>;
    replicas: number;
    resources: { memory?: string; cpus?: number };
    checks: {
      wait: number;
      http: Array<{ path: string; content?: string; port?: number; attempts: number; wait: number; timeout: number }>;
      exec: Array<{ command: string[]; attempts: number; wait: number; timeout: number }>;
    };
    release?: { command: string[]; timeout: number };
    postDeploy?: { command: string[]; timeout: number };
    deploy: {
      strategy: Strategy;
      retireAfter: number;
      progressDeadline: number;
      monitor?: number;
      canary?: { steps: number[]; interval: number; maxErrorRate: number; maxLatencyP95?: number; minRequests: number };
    };
    domains: string[];
  };
}

/**
 * Validates one parsed document against the schema and the rules the schema cannot express,
 * and normalizes it to an App. The document is handed over: the schema's defaults are filled
 * into `doc.value` itself (copying every document cost more than validating it); the messages
 * about a document the schema refuses are made from its text, parsed again.
 */
export function validateDocument(doc: ParsedDocument, file: string, options: LoadOptions): ValidationResult {
  const name = valueAt(doc.value, '/metadata/name');
  const app = typeof name === 'string' && APP_NAME.test(name) ? name : undefined;
  const failure = (messages: NodeMessage[]): ValidationResult => ({
    ok: false,
    problems: toProblems(messages, doc, file, app),
    ...(app !== undefined && { app }),
  });

  const strategyExplicit = valueAt(doc.value, '/spec/deploy/strategy') !== undefined;
  const written = options.runtime === 'swarm' ? writtenFields(doc.value) : undefined;
  const validate = appValidator();
  if (!validate(doc.value)) {
    const errors = focusOnIdentity(validate.errors ?? []);
    const plainScalar = (pointer: string) => {
      const range = scalarRange(doc, pointer);
      return range?.style === 'plain' ? doc.sourceMap.text.slice(range.start, range.end) : undefined;
    };
    return failure(describeSchemaErrors(errors, writtenValue(doc, file), plainScalar));
  }
  const valid = doc.value as ValidDocument;
  const ruleViolations = checkRules(valid, options);
  const onSwarm = written ? swarmFieldMessages(valid, written) : undefined;
  if (onSwarm) ruleViolations.push(...onSwarm.errors);
  if (ruleViolations.length > 0) return failure(ruleViolations);
  const normalized = normalize(valid, doc, file, options, strategyExplicit);
  const warnings = onSwarm ? toProblems(onSwarm.warnings, doc, file, normalized.name) : [];
  return { ok: true, app: warnings.length > 0 ? { ...normalized, warnings } : normalized };
}

/** The document as written, without the defaults validation filled in. */
function writtenValue(doc: ParsedDocument, file: string): unknown {
  return parseManifestText(doc.sourceMap.text, file).documents.find((d) => d.index === doc.index)?.value;
}

/** A document with the wrong apiVersion or kind is not a berth App: report only that. */
function focusOnIdentity(errors: readonly ErrorObject[]): readonly ErrorObject[] {
  const wrongIdentity = errors.some((e) => e.keyword === 'const' && IDENTITY_POINTERS.has(e.instancePath));
  return wrongIdentity ? errors.filter((e) => IDENTITY_POINTERS.has(e.instancePath)) : errors;
}

function toProblems(
  messages: readonly NodeMessage[],
  doc: ParsedDocument,
  file: string,
  app: string | undefined,
): ManifestProblem[] {
  return messages
    .map((m) => ({ offset: doc.sourceMap.offset(m.pointer, m.which), message: m }))
    .sort((a, b) => a.offset - b.offset)
    .map(({ message: m }) => ({
      file,
      ...doc.locate(m.pointer, m.which),
      message: m.message,
      ...(app !== undefined && { app }),
    }));
}

/**
 * Rules beyond the schema: volume sources, port clashes, check ports, the image policy. The
 * schema's defaults in `valid` name no node these rules report, so its paths read as the written
 * document's.
 */
function checkRules(valid: ValidDocument, options: LoadOptions): NodeMessage[] {
  const { spec } = valid;
  const messages: NodeMessage[] = [];
  const report = (pointer: string, text: string) =>
    messages.push({ pointer, which: 'value', message: `${displayPath(pointer, valid)}: ${text}` });

  const allowedPrefixes = options.allowHostPaths.map((p) => path.posix.normalize(p));
  const mountedTargets = new Map<string, number>();
  spec.volumes.forEach((volume, i) => {
    const source = `/spec/volumes/${i}/source`;
    if (volume.source.startsWith('/')) {
      const resolved = path.posix.normalize(volume.source);
      if (!allowedPrefixes.some((prefix) => isPathWithin(resolved, prefix))) {
        const resolvedShown = resolved.length <= MAX_QUOTED_LENGTH ? printable(resolved) : quote(resolved);
        const shown = resolved === volume.source ? quote(volume.source) : `${quote(volume.source)} (${resolvedShown})`;
        const allowed = allowedPrefixes.length === 0 ? 'none is given' : `given: ${allowedPrefixes.join(', ')}`;
        report(source, `host path ${shown} is not under an --allow-host-path prefix (${allowed})`);
      }
    } else if (!VOLUME_NAME.test(volume.source)) {
      report(
        source,
        `${quote(volume.source)} is neither an absolute host path nor a valid volume name (letters, digits, '_', '.' and '-', at least 2 characters, starting with a letter or digit)`,
      );
    }
    const target = path.posix.normalize(volume.target).replace(/(.)\/+$/, '$1');
    const earlier = mountedTargets.get(target);
    if (earlier === undefined) mountedTargets.set(target, i);
    else
      report(
        `/spec/volumes/${i}/target`,
        `${quote(volume.target)} is already mounted by ${displayPath(`/spec/volumes/${earlier}`, valid)}`,
      );
  });

  // Each port is compared with the earlier ones through maps, not pairwise: a document may list
  // thousands of ports, and the work must stay linear in its size.
  const firstByContainerPort = new Map<string, number>();
  const earlierBindings = new Map<string, BindingGroup>();
  spec.ports.forEach((port, i) => {
    if (port.host !== undefined && spec.replicas > 1) {
      report(
        `/spec/ports/${i}/host`,
        `a fixed host port cannot be used with replicas: ${spec.replicas} (two containers cannot bind one host port); remove host or set replicas to 1`,
      );
    }
    const containerKey = `${port.container}/${port.protocol}`;
    const sameContainerPort = firstByContainerPort.get(containerKey);
    if (sameContainerPort === undefined) firstByContainerPort.set(containerKey, i);
    else {
      report(
        `/spec/ports/${i}/container`,
        `container port ${port.container}/${port.protocol} is already declared by ${displayPath(`/spec/ports/${sameContainerPort}`, valid)}`,
      );
    }
    if (port.host === undefined) return;
    const groupKey = `${port.host}/${port.protocol}/${isIPv6(port.hostIp) ? 6 : 4}`;
    const group = earlierBindings.get(groupKey) ?? { first: i, byAddress: new Map<string, number>() };
    earlierBindings.set(groupKey, group);
    const sameBinding = firstOverlappingBinding(group, port.hostIp, i);
    if (sameBinding !== undefined) {
      report(
        `/spec/ports/${i}/host`,
        `host port ${String(port.host)}/${port.protocol} on ${port.hostIp} is already published by ${displayPath(`/spec/ports/${sameBinding}`, valid)}`,
      );
    }
    if (!group.byAddress.has(port.hostIp)) group.byAddress.set(port.hostIp, i);
    if (group.wildcard === undefined && isWildcard(port.hostIp)) group.wildcard = i;
  });

  const tcpPorts = [...new Set(spec.ports.filter((p) => p.protocol === 'tcp').map((p) => p.container))];
  const declaredTcpPorts = new Set(tcpPorts);
  spec.checks.http.forEach((check, i) => {
    if (check.port === undefined) {
      if (tcpPorts.length === 0) {
        report(
          `/spec/checks/http/${i}`,
          'an http check needs a port, and spec.ports declares no tcp container port to default to',
        );
      }
    } else if (!declaredTcpPorts.has(check.port)) {
      const declared = tcpPorts.length === 0 ? 'none is declared' : `declared: ${tcpPorts.join(', ')}`;
      report(`/spec/checks/http/${i}/port`, `${check.port} is not a declared tcp container port (${declared})`);
    }
  });
  if (spec.imagePolicy !== undefined) messages.push(...imagePolicyMessages(spec.imagePolicy, valid));
  if (spec.deploy.canary !== undefined) messages.push(...canaryMessages(spec.deploy.canary, valid, options));
  return messages;
}

/**
 * spec.deploy.canary: steps strictly increasing (each pointed at by its value), and a rollout a
 * canary can make (pointed at by the canary's key): the old and the new containers side by side
 * (no recreate, no fixed host port), a split in nginx (a domain of its own, or `--domain`), and
 * every step within deploy.progressDeadline.
 */
function canaryMessages(
  canary: NonNullable<ValidDocument['spec']['deploy']['canary']>,
  valid: ValidDocument,
  options: LoadOptions,
): NodeMessage[] {
  const { spec } = valid;
  const messages: NodeMessage[] = [];
  const at = '/spec/deploy/canary';
  const refuse = (text: string) =>
    messages.push({ pointer: at, which: 'key', message: `${displayPath(at, valid)}: ${text}` });
  canary.steps.forEach((step, i) => {
    const before = canary.steps[i - 1];
    if (before === undefined || step > before) return;
    const pointer = `${at}/steps/${i}`;
    messages.push({
      pointer,
      which: 'value',
      message: `${displayPath(pointer, valid)}: ${step} does not exceed the step before it (${before}); steps must increase strictly`,
    });
  });
  const sideBySide = 'a canary runs the old and the new revision side by side';
  if (spec.deploy.strategy === 'recreate')
    refuse(`${sideBySide}, and deploy.strategy: recreate stops the old containers first; remove one of them`);
  const fixed = spec.ports.findIndex((p) => p.host !== undefined);
  if (fixed >= 0)
    refuse(
      `${sideBySide}, and ${displayPath(`/spec/ports/${fixed}/host`, valid)} fixes a host port only one container can bind; remove host (nginx reaches the containers) or the canary`,
    );
  if (spec.domains.length === 0 && options.defaultDomain === undefined)
    refuse(
      "a canary is a split in berth's nginx, and nginx routes this app under no domain; add spec.domains, or run with --proxy nginx --domain D (validate --domain D)",
    );
  const length = canary.steps.length * canary.interval;
  if (length > spec.deploy.progressDeadline)
    refuse(
      `${canary.steps.length} step(s) of ${canary.interval} s take ${length} s, longer than deploy.progressDeadline (${spec.deploy.progressDeadline} s); shorten the steps or raise progressDeadline`,
    );
  return messages;
}

/**
 * spec.imagePolicy: exactly one of semver and pattern, order only with pattern, a range semver
 * parses, a pattern RE2 compiles with a group named key. A missing or extra field is pointed at
 * by its key; a bad range or pattern by its value.
 */
function imagePolicyMessages(
  policy: NonNullable<ValidDocument['spec']['imagePolicy']>,
  valid: ValidDocument,
): NodeMessage[] {
  const messages: NodeMessage[] = [];
  const say = (pointer: string, which: NodeMessage['which'], text: string) =>
    messages.push({ pointer, which, message: `${displayPath(pointer, valid)}: ${text}` });
  const at = '/spec/imagePolicy';
  if (policy.semver === undefined && policy.pattern === undefined)
    say(at, 'key', 'needs semver (a range such as "^1") or pattern (a regular expression with a group named key)');
  if (policy.semver !== undefined && policy.pattern !== undefined)
    say(`${at}/pattern`, 'key', 'give semver or pattern, not both');
  if (policy.order !== undefined && policy.pattern === undefined)
    say(`${at}/order`, 'key', 'applies only with pattern (semver tags sort by version)');
  if (policy.semver !== undefined) {
    const problem = semverRangeProblem(policy.semver);
    if (problem !== undefined) say(`${at}/semver`, 'value', problem);
  }
  if (policy.pattern !== undefined) {
    const compiled = compileTagPattern(policy.pattern);
    if (!compiled.ok) say(`${at}/pattern`, 'value', compiled.problem);
  }
  return messages;
}

/** `candidate` is `prefix` or lies below it, by name (both normalized POSIX paths). */
export function isPathWithin(candidate: string, prefix: string): boolean {
  const base = prefix.replace(/\/+$/, '');
  return base === '' || candidate === base || candidate.startsWith(`${base}/`);
}

/**
 * The fixed host bindings declared so far for one host port, protocol and address family:
 * indices into spec.ports of the first binding, of the first binding per address, and of
 * the first wildcard binding (0.0.0.0 or ::, which covers every address of its family).
 */
interface BindingGroup {
  first: number;
  byAddress: Map<string, number>;
  wildcard?: number;
}

/** The earliest binding in `group` that claims the same socket as one on `hostIp`, if any. */
function firstOverlappingBinding(group: BindingGroup, hostIp: string, index: number): number | undefined {
  if (group.first === index) return undefined;
  if (isWildcard(hostIp)) return group.first;
  const candidates = [group.byAddress.get(hostIp), group.wildcard].filter((i): i is number => i !== undefined);
  return candidates.length === 0 ? undefined : Math.min(...candidates);
}

function isIPv6(ip: string): boolean {
  return ip.includes(':');
}

function normalize(
  valid: ValidDocument,
  doc: ParsedDocument,
  file: string,
  options: LoadOptions,
  strategyExplicit: boolean,
): App {
  // Built field by field, in the order the App's fields are listed, an optional field set only
  // when present: no object made only to be spread into another (every app of a large read pays it).
  const { metadata, spec } = valid;
  const firstTcpPort = spec.ports.find((p) => p.protocol === 'tcp')?.container;
  const at = (pointer: string): SourcePosition => positionIn(file, doc.locate(pointer, 'value'));
  const normalized = {
    image: spec.image ?? appRepository(options.namespace, metadata.name),
    tag: spec.tag,
  } as App['spec'];
  if (spec.digest !== undefined) normalized.digest = spec.digest;
  if (spec.imagePolicy !== undefined) normalized.imagePolicy = imagePolicyOf(spec.imagePolicy);
  if (spec.command !== undefined) normalized.command = spec.command;
  normalized.env = spec.env;
  normalized.envFrom = spec.envFrom.map((e, i) => ({
    file: resolvePath(dirname(file), e.file),
    at: at(`/spec/envFrom/${i}/file`),
  }));
  normalized.secrets = spec.secrets.map((e, i) => ({
    file: resolvePath(dirname(file), e.file),
    target: e.target,
    at: at(`/spec/secrets/${i}/file`),
  }));
  normalized.ports = spec.ports.map((p) =>
    p.host === undefined
      ? { container: p.container, hostIp: p.hostIp, protocol: p.protocol }
      : { container: p.container, host: p.host, hostIp: p.hostIp, protocol: p.protocol },
  );
  normalized.volumes = spec.volumes.map((v) => ({ source: v.source, target: v.target, readOnly: v.readOnly }));
  normalized.replicas = spec.replicas;
  const resources: App['spec']['resources'] = {};
  if (spec.resources.memory !== undefined) resources.memory = spec.resources.memory;
  if (spec.resources.cpus !== undefined) resources.cpus = spec.resources.cpus;
  normalized.resources = resources;
  normalized.checks = {
    wait: spec.checks.wait,
    http: spec.checks.http.map((c) => {
      // checkRules guarantees a port when there is no tcp port to default to
      const port = c.port ?? (firstTcpPort as number);
      return c.content === undefined
        ? { path: c.path, port, attempts: c.attempts, wait: c.wait, timeout: c.timeout }
        : { path: c.path, content: c.content, port, attempts: c.attempts, wait: c.wait, timeout: c.timeout };
    }),
    exec: spec.checks.exec.map((c) => ({
      command: c.command,
      attempts: c.attempts,
      wait: c.wait,
      timeout: c.timeout,
    })),
  };
  if (spec.release !== undefined) normalized.release = { command: spec.release.command, timeout: spec.release.timeout };
  if (spec.postDeploy !== undefined)
    normalized.postDeploy = { command: spec.postDeploy.command, timeout: spec.postDeploy.timeout };
  normalized.deploy = {
    strategy: spec.deploy.strategy,
    strategyExplicit,
    retireAfter: spec.deploy.retireAfter,
    progressDeadline: spec.deploy.progressDeadline,
    monitor: spec.deploy.monitor ?? spec.deploy.retireAfter,
  };
  if (spec.deploy.canary !== undefined) normalized.deploy.canary = canaryOf(spec.deploy.canary);
  normalized.domains = spec.domains;
  return {
    name: metadata.name,
    source: { file, line: doc.start.line, col: doc.start.col },
    claimsAt: {
      ports: spec.ports.map((_p, i) => at(`/spec/ports/${i}/host`)),
      domains: spec.domains.map((_d, i) => at(`/spec/domains/${i}`)),
      volumes: spec.volumes.map((_v, i) => at(`/spec/volumes/${i}/source`)),
    },
    spec: normalized,
  };
}

/** The policy as AppSpec holds it; checkRules guarantees exactly one of semver and pattern. */
function imagePolicyOf(policy: NonNullable<ValidDocument['spec']['imagePolicy']>): ImagePolicy {
  const { interval, minAge } = policy;
  return policy.semver !== undefined
    ? { semver: policy.semver, interval, minAge }
    : { pattern: policy.pattern as string, order: policy.order ?? 'numerical', interval, minAge };
}

/** The canary as AppSpec holds it: its fields in a fixed order, maxLatencyP95 only when written. */
function canaryOf(canary: NonNullable<ValidDocument['spec']['deploy']['canary']>): CanarySpec {
  const { steps, interval, maxErrorRate, maxLatencyP95, minRequests } = canary;
  return maxLatencyP95 === undefined
    ? { steps: [...steps], interval, maxErrorRate, minRequests }
    : { steps: [...steps], interval, maxErrorRate, maxLatencyP95, minRequests };
}

/** `position` in `file`. */
function positionIn(file: string, position: { line: number; col: number }): SourcePosition {
  return { file, line: position.line, col: position.col };
}
