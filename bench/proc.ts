/**
 * Process accounting from /proc: CPU ticks per process and the process tree, so the cost of
 * the server, its encoders and the X server can be told apart.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ on Linux; `getconf CLK_TCK` says 100 on every architecture Node runs on here. */
export const CLK_TCK = 100;

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  comm: string;
  /** R running, S sleeping, T stopped, ... */
  state: string;
  /** utime + stime, in clock ticks. */
  ticks: number;
}

export function readProc(pid: number): ProcInfo | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // comm may hold spaces and parentheses: the fields proper start after the last ')'.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  if (rest[0] === 'Z') return null;
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: rest[0]!,
    ppid: Number(rest[1]),
    pgid: Number(rest[2]),
    ticks: Number(rest[11]) + Number(rest[12]),
  };
}

export function allProcs(): Map<number, ProcInfo> {
  const out = new Map<number, ProcInfo>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProc(Number(name));
    if (info) out.set(info.pid, info);
  }
  return out;
}

/** Every live descendant of `root` (not `root` itself). */
export function descendants(root: number, procs: Map<number, ProcInfo> = allProcs()): ProcInfo[] {
  const children = new Map<number, ProcInfo[]>();
  for (const p of procs.values()) {
    const list = children.get(p.ppid);
    if (list) list.push(p);
    else children.set(p.ppid, [p]);
  }
  const out: ProcInfo[] = [];
  const stack = [root];
  while (stack.length > 0) {
    for (const child of children.get(stack.pop()!) ?? []) {
      out.push(child);
      stack.push(child.pid);
    }
  }
  return out;
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Busy ticks of the whole machine (all CPUs) from /proc/stat. */
export function machineBusyTicks(): number {
  const fields = readFileSync('/proc/stat', 'latin1').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user/nice).
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return user + nice + system + irq + softirq + steal;
}

export function alive(pid: number): boolean {
  return readProc(pid) !== null;
}

/**
 * CPU use of named groups of processes over a window. Group membership is resolved at both
 * ends, so a process that appears during the window counts from zero and one that ends
 * during it is lost (a restarting encoder would be under-counted; the bench reports restarts
 * as a failure long before that matters).
 */
export class CpuWindow {
  private readonly start = new Map<number, number>();
  private readonly t0 = performance.now();
  private readonly machine0 = machineBusyTicks();

  constructor(private readonly groups: Record<string, () => number[]>) {
    for (const pids of Object.values(groups)) {
      for (const pid of pids()) {
        const p = readProc(pid);
        if (p) this.start.set(pid, p.ticks);
      }
    }
  }

  /**
   * % of one core per group since construction, plus `machine`: everything busy on this
   * machine (all cores, other people's processes included).
   */
  finish(): Record<string, number> {
    const seconds = (performance.now() - this.t0) / 1000;
    const out: Record<string, number> = {};
    for (const [name, pids] of Object.entries(this.groups)) {
      let ticks = 0;
      for (const pid of pids()) {
        const p = readProc(pid);
        if (p) ticks += p.ticks - (this.start.get(pid) ?? 0);
      }
      out[name] = (ticks / CLK_TCK / seconds) * 100;
    }
    out.machine = ((machineBusyTicks() - this.machine0) / CLK_TCK / seconds) * 100;
    return out;
  }
}
