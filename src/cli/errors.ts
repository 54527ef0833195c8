/** The one place typed errors become messages and exit codes. */
import { EngineUnavailableError, RuntimeError } from '../runtime/errors.js';
import { LockHeldError } from '../state/errors.js';
import { UsageError } from './usage.js';
import { ManifestEditError } from '../manifest/errors.js';
import { TagCommandError } from '../tags/errors.js';
import { ListenError } from '../http/errors.js';
import { UnsafeDirectoryError } from '../util/private-dir.js';
import { ProxyError } from '../proxy/errors.js';
import { mappedStack } from '../util/mapped-stack.js';

export interface Failure {
  message: string;
  exitCode: number;
}

export function describeFailure(error: unknown): Failure {
  if (error instanceof UsageError)
    return { message: `berth: ${error.message} (berth --help shows the usage)`, exitCode: 1 };
  if (
    error instanceof LockHeldError ||
    error instanceof TagCommandError ||
    error instanceof ManifestEditError ||
    error instanceof ListenError
  )
    return { message: `berth: ${error.message}`, exitCode: 1 };
  if (error instanceof ProxyError) return { message: `berth: ${error.message}`, exitCode: 1 };
  if (error instanceof UnsafeDirectoryError)
    return { message: `berth: refusing the directory ${error.message}`, exitCode: 1 };
  if (error instanceof EngineUnavailableError) {
    const where = process.env.DOCKER_HOST ? `DOCKER_HOST=${process.env.DOCKER_HOST}` : 'the local Docker socket';
    return { message: `berth: cannot reach the Docker engine at ${where}: ${error.message}`, exitCode: 1 };
  }
  if (error instanceof RuntimeError) return { message: `berth: Docker: ${error.message}`, exitCode: 1 };
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EACCES' || code === 'EPERM') {
    return {
      message: `berth: ${(error as Error).message} (use --state-dir to pick a writable directory)`,
      exitCode: 1,
    };
  }
  // A stack a user can report: file:line of the TypeScript source, not of the bundle (the maps are read only here).
  const stack = (error as Error | undefined)?.stack;
  return {
    message: `berth: unexpected error: ${typeof stack === 'string' ? mappedStack(stack) : String(error)}`,
    exitCode: 1,
  };
}
