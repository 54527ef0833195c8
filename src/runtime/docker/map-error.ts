/**
 * Turns whatever dockerode or the socket threw into the typed errors of ../errors.ts, with a
 * one-line message `<operation> <object>: <engine's reason>`. The values of the `env` handed in
 * never reach the message nor the cause (the engine echoes e.g. `invalid environment variable: =value`).
 */
import { EngineError, EngineUnavailableError, PortInUseError, RuntimeError } from '../errors.js';
import { redact, secretsOf } from '../../util/redact.js';

type TypedErrorClass = new (operation: string, message: string, options?: { cause?: unknown }) => RuntimeError;

export interface FailureContext {
  /** The Runtime method, e.g. `createContainer`. */
  operation: string;
  /** What the operation was about (container name or short id, image reference). */
  object: string;
  /** The engine's address, named when it cannot be reached. */
  endpoint: string;
  /** The typed error for an HTTP status, e.g. `{ 404: ContainerNotFoundError }`. */
  byStatus?: Readonly<Partial<Record<number, TypedErrorClass>>>;
  /** The typed error for any other engine-side failure; default EngineError with the status code. */
  otherwise?: TypedErrorClass;
  /** The container env of the request: its `KEY=value` entries and values are redacted. */
  env?: Readonly<Record<string, string>>;
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EPIPE',
  'ECONNRESET',
  'EACCES',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENOTSOCK',
]);

export function toRuntimeError(error: unknown, context: FailureContext): RuntimeError {
  if (error instanceof RuntimeError) return error;
  const { operation, object } = context;
  const secrets = context.env === undefined ? [] : secretsOf(context.env);
  const cause = secrets.length === 0 ? { cause: error } : undefined;

  if (isUnreachable(error)) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'socket hang up';
    return new EngineUnavailableError(
      operation,
      `${operation} ${object}: cannot reach the Docker engine at ${context.endpoint} (${reason})`,
      cause,
    );
  }

  const statusCode = statusCodeOf(error);
  const reason = engineReason(error);
  const binding = takenBinding(reason);
  if (binding !== undefined) return new PortInUseError(operation, object, binding, statusCode, cause);
  const message = `${operation} ${object}: ${redact(reason, secrets)}`;
  const typed = statusCode === undefined ? undefined : context.byStatus?.[statusCode];
  if (typed) return new typed(operation, message, cause);
  if (context.otherwise) return new context.otherwise(operation, message, cause);
  return new EngineError(operation, message, statusCode, cause);
}

/**
 * The host binding of Docker's two ways of saying a port is taken: by another container
 * ("Bind for 127.0.0.1:18777 failed: port is already allocated") or by another process
 * ("listen tcp4 127.0.0.1:18777: bind: address already in use").
 */
function takenBinding(reason: string): string | undefined {
  const match =
    /Bind for (\S+):(\d+) failed: port is already allocated/.exec(reason) ??
    /listen (?:tcp|udp)[46]? (\S+):(\d+): bind: address already in use/.exec(reason);
  return match ? `${match[1]}:${match[2]}` : undefined;
}

/** The connection-level failures that mean "no engine there (right now)". */
function isUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return (code !== undefined && UNREACHABLE_CODES.has(code)) || /socket hang up/i.test(error.message);
}

export function statusCodeOf(error: unknown): number | undefined {
  const statusCode = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof statusCode === 'number' ? statusCode : undefined;
}

/** The engine's own message: the JSON body's `message`, else dockerode's text without its `(HTTP code N) reason - ` prefix. */
function engineReason(error: unknown): string {
  const body = (error as { json?: unknown } | undefined)?.json;
  const bodyMessage = (body as { message?: unknown } | null | undefined)?.message;
  const text =
    typeof bodyMessage === 'string' && bodyMessage !== ''
      ? bodyMessage
      : error instanceof Error
        ? error.message.replace(/^\(HTTP code \d+\) .*? - /, '')
        : String(error);
  return oneLine(text) || 'unknown engine error';
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
