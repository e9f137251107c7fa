/**
 * CPU time of the benchmark's processes, read from /proc (Linux): which process a credited payment costs what.
 * Each named group is one process, or a process and its descendants (the embedded Postgres's postmaster and its
 * backends; never the benchmark's own process, whose descendants are all the others). Elsewhere than Linux every
 * figure is null.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface ProcStat {
  pid: number;
  ppid: number;
  cpuSeconds: number;
  cmdline: string;
}

function readProc(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start at "state"; ppid is the 2nd, utime/stime the 12th/13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({
        pid: Number(entry),
        ppid: Number(fields[1]),
        cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND,
        cmdline: readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' '),
      });
    } catch {
      // the process ended between the listing and the read
    }
  }
  return out;
}

/** The first process whose command line contains every one of `parts` (e.g. the embedded Postgres by its data directory). */
export function findPid(...parts: string[]): number | null {
  if (!existsSync('/proc')) return null;
  return readProc().find((p) => parts.every((part) => p.cmdline.includes(part)))?.pid ?? null;
}

export interface ProcessGroup {
  pid: number | null | undefined;
  /** Count the process's descendants too (Postgres's backends). */
  withDescendants?: boolean;
}

/** CPU seconds so far of each group. */
export function cpuSecondsOf(groups: Record<string, ProcessGroup>): Record<string, number> | null {
  if (!existsSync('/proc')) return null;
  const procs = readProc();
  const children = new Map<number, ProcStat[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const own = (pid: number) => procs.find((p) => p.pid === pid)?.cpuSeconds ?? 0;
  const treeCpu = (pid: number): number => own(pid) + (children.get(pid) ?? []).reduce((sum, c) => sum + treeCpu(c.pid), 0);
  return Object.fromEntries(
    Object.entries(groups).map(([name, g]) => [name, g.pid ? (g.withDescendants ? treeCpu(g.pid) : own(g.pid)) : 0]),
  );
}

/** CPU milliseconds per unit of work of each group between two readings. */
export function cpuMsPer(before: Record<string, number> | null, after: Record<string, number> | null, units: number): Record<string, number> | null {
  if (!before || !after) return null;
  return Object.fromEntries(Object.keys(after).map((k) => [k, Math.round(((after[k]! - (before[k] ?? 0)) * 1000) / units * 10) / 10]));
}
