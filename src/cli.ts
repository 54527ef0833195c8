#!/usr/bin/env node
import { main } from './cli/main.js';

// A reader that stops reading (`berth plan | head`) ends berth quietly, as it ends other
// command-line tools, instead of with an unhandled EPIPE error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    // 128 + SIGPIPE: the status a tool killed by the signal has (Node ignores the signal itself).
    process.exit(141);
  });
}

process.exitCode = await main(process.argv.slice(2));
