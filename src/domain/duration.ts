const DURATION = /^(\d{1,6})([mhd])$/;
const MINUTES_PER_UNIT = { m: 1, h: 60, d: 1_440 } as const;

/** A duration written `90m`, `6h` or `3d`, in minutes; null for anything else. Workflow-safe (pure). */
export function durationMinutes(text: string): number | null {
  const m = DURATION.exec(text);
  return m ? Number(m[1]) * MINUTES_PER_UNIT[m[2] as keyof typeof MINUTES_PER_UNIT] : null;
}
