/**
 * Preloaded (`node --import`) into a benchmarked process: at exit it writes, on file descriptor 3,
 * one JSON line with the CPU time of the whole process (every thread) and its peak resident
 * memory, as the kernel counts them. The same preload goes into berth and into the floor.
 */
import { writeSync } from 'node:fs';

process.on('exit', () => {
  const usage = process.resourceUsage();
  writeSync(
    3,
    `${JSON.stringify({ cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, maxRssMiB: usage.maxRSS / 1024 })}\n`,
  );
});
