/** How the CLI prints: JSON (snake_case keys, like the HTTP API) or plain aligned tables for people. */

const snakeCase = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A copy of `value` whose object keys are snake_case, at every depth. */
export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [snakeCase(k), snakeKeys(v)]));
  }
  return value;
}

export const jsonText = (value: unknown): string => `${JSON.stringify(snakeKeys(value), null, 2)}\n`;

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | null | undefined;
  /** Longer cells are cut with an ellipsis. */
  maxWidth?: number;
}

const cell = <T>(column: Column<T>, row: T): string => {
  const text = String(column.value(row) ?? '—').replace(/\s+/g, ' ');
  return column.maxWidth && text.length > column.maxWidth ? `${text.slice(0, column.maxWidth - 1)}…` : text;
};

/** Rows as a left-aligned text table with a header line. */
export function tableText<T>(columns: Column<T>[], rows: T[]): string {
  const cells = [columns.map((c) => c.header), ...rows.map((row) => columns.map((c) => cell(c, row)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  return cells.map((line) => line.map((text, i) => (i === line.length - 1 ? text : text.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout(text: string): void;
  stderr(text: string): void;
}
