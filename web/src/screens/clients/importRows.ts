import type { ImportReport } from "./queries";

/** The share of rows decided so far, whole percent; a finished import is 100 even when empty. */
export function importPercent(report: Pick<ImportReport, "status" | "total" | "processed">): number {
  if (report.status === "completed") return 100;
  if (report.total === 0) return 0;
  return Math.min(100, Math.floor((report.processed / report.total) * 100));
}

/** The skipped and invalid rows as a CSV a spreadsheet opens, one row per line of the file. */
export function errorRows(report: Pick<ImportReport, "errors">): (string | number)[][] {
  return [["line", "outcome", "reason"], ...report.errors.map((row) => [row.line, row.outcome, row.reason])];
}

/** "clients.csv" → "clients-problems.csv". */
export function problemsFilename(filename: string): string {
  const base = filename.replace(/\.csv$/i, "") || "import";
  return `${base}-problems.csv`;
}
