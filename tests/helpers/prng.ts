/** The seed of this run's fuzzing: FUZZ_SEED replays a failing run. */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

/** Seeded random helpers (mulberry32), so a failing fuzz run can be replayed exactly. */
export function seededRandom(seed: number) {
  let a = seed >>> 0;
  const rand = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(rand() * n);
  return {
    rand,
    int,
    pick: <T>(list: readonly T[]): T => list[int(list.length)]!,
    bytes: (n: number): Buffer<ArrayBuffer> => Buffer.from(Array.from({ length: n }, () => int(256))),
  };
}
