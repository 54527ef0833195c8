import { describeFailure } from './errors.js';
import { planCommand } from './commands/plan.js';
import { runCommand } from './commands/run.js';
import { statusCommand } from './commands/status.js';
import { validateCommand } from './commands/validate.js';
import { USAGE, UsageError } from './usage.js';
import type { Output } from './output.js';

const COMMANDS: Record<string, (args: string[], out: Output) => Promise<number>> = {
  run: runCommand,
  validate: validateCommand,
  plan: planCommand,
  status: statusCommand,
};

/** argv (without node and script) in, exit code out. */
export async function main(argv: string[], out: Output = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) }): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    out.stdout(USAGE);
    return name === undefined ? 1 : 0;
  }
  try {
    const command = COMMANDS[name];
    if (!command) throw new UsageError(`unknown command "${name}"`);
    if (args.includes('--help') || args.includes('-h')) {
      out.stdout(USAGE);
      return 0;
    }
    return await command(args, out);
  } catch (error) {
    const failure = describeFailure(error);
    out.stderr(`${failure.message}\n`);
    return failure.exitCode;
  }
}
