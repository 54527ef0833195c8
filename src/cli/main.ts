import { describeFailure } from './errors.js';
import { USAGE, UsageError } from './usage.js';
import type { Output } from './output.js';
import { stripControl } from '../util/strip-control.js';
import { berthVersion } from './version.js';

type Command = (args: string[], out: Output) => Promise<number>;

/** Loaded on demand: `validate` never pays for the Docker client. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./commands/run.js')).runCommand,
  validate: async () => (await import('./commands/validate.js')).validateCommand,
  plan: async () => (await import('./commands/plan.js')).planCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  tags: async () => (await import('./commands/tags-list.js')).tagsListCommand,
  'tags:create': async () => (await import('./commands/tags-create.js')).tagsCreateCommand,
  'tags:deploy': async () => (await import('./commands/tags-deploy.js')).tagsDeployCommand,
  'tags:destroy': async () => (await import('./commands/tags-destroy.js')).tagsDestroyCommand,
  history: async () => (await import('./commands/history.js')).historyCommand,
  retry: async () => (await import('./commands/retry.js')).retryCommand,
  promote: async () => (await import('./commands/promote.js')).promoteCommand,
  abort: async () => (await import('./commands/abort.js')).abortCommand,
  sync: async () => (await import('./commands/sync.js')).syncCommand,
  events: async () => (await import('./commands/events.js')).eventsCommand,
  'secrets:encrypt': async () => (await import('./commands/secrets-encrypt.js')).secretsEncryptCommand,
};

/**
 * The process streams. On a terminal, no text berth did not write itself (a commit subject, an
 * engine's or a remote's error, a container's words) can drive it: terminal control is stripped
 * from everything written (tables and messages strip their own parts too; a pipe gets `--json`
 * output as it is).
 */
const processOutput: Output = {
  stdout: (s) => process.stdout.write(process.stdout.isTTY ? stripControl(s) : s),
  stderr: (s) => process.stderr.write(process.stderr.isTTY ? stripControl(s) : s),
};

/** argv (without node and script) in, exit code out. */
export async function main(argv: string[], out: Output = processOutput): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    out.stdout(USAGE);
    return name === undefined ? 1 : 0;
  }
  if (name === '--version' || name === 'version') {
    out.stdout(`berth ${berthVersion()}\n`);
    return 0;
  }
  try {
    const load = COMMANDS[name];
    if (!load) throw new UsageError(`unknown command "${name}"`);
    if (args.includes('--help') || args.includes('-h')) {
      out.stdout(USAGE);
      return 0;
    }
    return await (await load())(args, out);
  } catch (error) {
    const failure = describeFailure(error);
    out.stderr(`${failure.message}\n`);
    return failure.exitCode;
  }
}
