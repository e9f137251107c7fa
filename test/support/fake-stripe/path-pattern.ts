/** A path filter: a string matches the path exactly, a RegExp is tested against it. */
export type PathPattern = RegExp | string;

export function matchesPath(pattern: PathPattern, path: string): boolean {
  if (typeof pattern === 'string') return pattern === path;
  // A fresh, non-global copy: `test` on a /g or /y RegExp is stateful.
  return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')).test(path);
}
