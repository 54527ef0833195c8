/** Teardown of what a benchmark starts: steps run in reverse order of registration, once, whatever happened. */

export class Teardown {
  private readonly steps: { name: string; run: () => Promise<unknown> }[] = [];

  add(name: string, run: () => Promise<unknown>): void {
    this.steps.push({ name, run });
  }

  /** Runs every registered step, last first; a failing step is reported and the rest still run. Idempotent. */
  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.run();
      } catch (error) {
        console.error(`teardown: ${step.name}: ${(error as Error).message}`);
      }
    }
  }
}

/**
 * Runs `body` with a teardown of its own, run as soon as `body` settles (so one phase's processes
 * are gone before the next starts); `parent` runs it too when interrupted before that.
 */
export async function withOwnTeardown<T>(
  parent: Teardown,
  name: string,
  body: (teardown: Teardown) => Promise<T>,
): Promise<T> {
  const own = new Teardown();
  parent.add(name, () => own.run());
  try {
    return await body(own);
  } finally {
    await own.run();
  }
}

/**
 * Runs a benchmark's `main` with a teardown that runs when it settles, on SIGINT/SIGTERM (exit
 * 130) and when it throws (exit 1, the error printed).
 */
export async function runBenchmark(main: (teardown: Teardown) => Promise<void>): Promise<void> {
  const teardown = new Teardown();
  // Output piped into `head` that exits must not crash the run before the teardown.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: cleaning up`);
      void teardown.run().finally(() => process.exit(130));
    });
  }
  try {
    await main(teardown);
  } catch (error) {
    console.error(`benchmark failed: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  } finally {
    await teardown.run();
  }
}
