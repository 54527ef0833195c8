/** CPU and memory of a process and of the whole machine, from Linux's /proc. */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) the process has used so far. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Resident set size of the process, in MiB. */
export function processRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
  return kib / 1024;
}

/** CPU seconds every core of the machine has spent busy (not idle or waiting for I/O) so far. */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / TICKS_PER_SECOND;
}

/** CPU use of `pid` and of the machine between `start()` and `stop()`. */
export class CpuWindow {
  private readonly startedAt = performance.now();
  private readonly processStart: number;
  private readonly machineStart = machineBusySeconds();

  constructor(private readonly pid: number) {
    this.processStart = processCpuSeconds(pid);
  }

  stop(): { seconds: number; processCpuSeconds: number; machineBusySeconds: number } {
    return {
      seconds: (performance.now() - this.startedAt) / 1000,
      processCpuSeconds: processCpuSeconds(this.pid) - this.processStart,
      machineBusySeconds: machineBusySeconds() - this.machineStart,
    };
  }
}
