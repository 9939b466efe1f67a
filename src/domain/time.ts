/** RFC 3339 timestamp with millisecond precision, as every wire object carries. */
export function nowIso(): string {
  return new Date().toISOString();
}

/** Parses an RFC 3339 timestamp; returns undefined when it is not one. */
export function parseIso(value: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(value)) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
