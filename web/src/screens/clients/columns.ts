/**
 * The column report of a client CSV, read from its header before it is uploaded: the same
 * rules as the API's reader (services/csv_import.py), so what is shown is what will import.
 */

export const CLIENT_COLUMNS = {
  name: "Name (required)",
  kind: "Kind (organization or person)",
  email: "Email",
  phone: "Phone",
  status: "Status (prospect, active or inactive)",
  tags: "Tags (separated by ;)",
  external_ref: "External reference",
} as const;

export type ClientColumn = keyof typeof CLIENT_COLUMNS;

export interface ColumnMapping {
  /** The header cell as written. */
  column: string;
  /** The client field it fills, or null when it is ignored. */
  field: ClientColumn | null;
  /** Why the column does not import, when it does not. */
  problem: string | null;
}

export interface ColumnReport {
  columns: ColumnMapping[];
  /** Set when the file cannot import at all (no name column, a column twice). */
  blocking: string | null;
}

const DELIMITERS = [",", ";", "\t"] as const;

/** The cells of one CSV line, quotes respected (a doubled quote is a quote). */
export function splitCsvLine(line: string, delimiter: string): string[] {
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let index = 0; index < line.length; index += 1) {
    const char = line[index];
    if (quoted) {
      if (char === '"' && line[index + 1] === '"') {
        cell += '"';
        index += 1;
      } else if (char === '"') {
        quoted = false;
      } else {
        cell += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === delimiter) {
      cells.push(cell);
      cell = "";
    } else {
      cell += char;
    }
  }
  cells.push(cell);
  return cells;
}

/** The header row's cells: the first non-blank line, split by the delimiter that gives most. */
export function headerCells(text: string): string[] {
  const header = text
    .replace(/^\uFEFF/, "")
    .split(/\r\n|\n|\r/)
    .find((line) => line.trim() !== "");
  if (header === undefined) return [];
  let best: string[] = [header];
  for (const delimiter of DELIMITERS) {
    const cells = splitCsvLine(header, delimiter);
    if (cells.length > best.length) best = cells;
  }
  return best;
}

function canonical(cell: string): string {
  return cell.trim().toLowerCase().replace(/[\s-]+/g, "_");
}

function isClientColumn(name: string): name is ClientColumn {
  return Object.hasOwn(CLIENT_COLUMNS, name);
}

export function columnReport(cells: string[]): ColumnReport {
  const seen = new Map<ClientColumn, number>();
  let blocking: string | null = null;
  const columns = cells.map((cell, index): ColumnMapping => {
    const name = canonical(cell);
    const column = cell.trim() || `(unnamed column ${index + 1})`;
    if (!isClientColumn(name)) {
      return { column, field: null, problem: "Matches no client field; it is ignored." };
    }
    const first = seen.get(name);
    if (first !== undefined) {
      blocking ??= `The column '${name}' appears twice (columns ${first} and ${index + 1}).`;
      return { column, field: name, problem: "Appears twice." };
    }
    seen.set(name, index + 1);
    return { column, field: name, problem: null };
  });
  if (cells.length === 0) blocking = "The file is empty; it needs a header row and data rows.";
  else if (!seen.has("name")) blocking ??= "The header has no 'name' column; the first row must name the columns.";
  return { columns, blocking };
}
