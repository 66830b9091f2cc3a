import { promisify } from 'node:util';
import type { ScreenSize } from './desktop.js';
import { execFile } from '../process/spawn.js';

const execFileP = promisify(execFile);

/** Contract §3.3: only rates ≤ 60 that are ≤ 30 or a multiple of 10 are offered. */
export function offeredRate(rate: number): boolean {
  return rate > 0 && rate <= 60 && (rate <= 30 || rate % 10 === 0);
}

/**
 * Screen configurations from `xrandr -q` output: one entry per mode size and offered rate,
 * in xrandr's order (preferred first), without duplicates. Rates are rounded (59.94 → 60).
 * A size whose rates are all unknown (Xvfb reports 0) is listed at `fallbackRate`.
 */
export function parseXrandrModes(output: string, fallbackRate: number): ScreenSize[] {
  const out: ScreenSize[] = [];
  const seen = new Set<string>();
  const add = (width: number, height: number, rate: number) => {
    const key = `${width}x${height}@${rate}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ width, height, rate });
  };
  for (const line of output.split('\n')) {
    // Mode lines are indented: "   1920x1080_60  59.96*+  30.00"; the name may carry a suffix.
    const m = /^\s+(\d+)x(\d+)\S*\s+(.*)$/.exec(line);
    if (!m) continue;
    const width = Number(m[1]);
    const height = Number(m[2]);
    const rates = [...m[3]!.matchAll(/(\d+(?:\.\d+)?)/g)].map((r) => Math.round(Number(r[1])));
    const known = rates.filter((r) => r > 0);
    if (known.length === 0) {
      add(width, height, fallbackRate);
      continue;
    }
    for (const rate of known) if (offeredRate(rate)) add(width, height, rate);
  }
  return out;
}

/** The display's screen configurations (contract ScreenSize[]). */
export async function listScreenModes(display: string, fallbackRate: number): Promise<ScreenSize[]> {
  const { stdout } = await execFileP('xrandr', ['-q'], { env: { ...process.env, DISPLAY: display }, timeout: 10_000 });
  return parseXrandrModes(stdout, fallbackRate);
}
