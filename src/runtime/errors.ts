/**
 * Errors raised at the container-engine boundary. Every Runtime method rejects only with one of
 * these; the CLI maps them to messages and exit codes.
 */
export class RuntimeError extends Error {
  /** The runtime operation that failed, e.g. `createContainer`. */
  readonly operation: string;
  constructor(operation: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.operation = operation;
  }
}

/** The engine cannot be reached (socket missing, connection refused, engine restarting). */
export class EngineUnavailableError extends RuntimeError {}

/** The engine took the request and did not answer within its deadline (a hung engine): treated as unreachable. */
export class EngineTimeoutError extends EngineUnavailableError {}

export class ContainerNotFoundError extends RuntimeError {}

export class ImageNotFoundError extends RuntimeError {}

export class ServiceNotFoundError extends RuntimeError {}

export class SecretNotFoundError extends RuntimeError {}

/** A container name is already in use. */
export class NameConflictError extends RuntimeError {}

/** A pull failed: unknown repository or tag, registry unreachable, or denied. */
export class PullError extends RuntimeError {}

/** berth was asked to touch a container it does not manage; it refuses. */
export class NotManagedError extends RuntimeError {}

/** Any other engine error (bad request, port already allocated, ...). */
export class EngineError extends RuntimeError {
  readonly statusCode: number | undefined;
  constructor(operation: string, message: string, statusCode?: number, options?: { cause?: unknown }) {
    super(operation, message, options);
    this.statusCode = statusCode;
  }
}

/** A container could not publish a host port: something outside it (a process, another container) holds it. */
export class PortInUseError extends EngineError {
  /** `host port 127.0.0.1:18777 is in use by something else`: the reason, without the operation. */
  readonly reason: string;
  constructor(operation: string, object: string, binding: string, statusCode?: number, options?: { cause?: unknown }) {
    const reason = `host port ${binding} is in use by something else`;
    super(operation, `${operation} ${object}: ${reason}`, statusCode, options);
    this.reason = reason;
  }
}

/** A lease update named a version the swarm has moved past: someone else wrote the lease first (compare-and-swap lost). */
export class LeaseConflictError extends RuntimeError {}
