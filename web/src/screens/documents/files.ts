const UNITS = ["KB", "MB", "GB", "TB"] as const;

/** A size as people read it: 512 B, 1.5 KB, 20 MB, 1.2 GB (binary multiples, as file managers show). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return "—";
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes;
  let unit: (typeof UNITS)[number] = "KB";
  for (const next of UNITS) {
    value /= 1024;
    unit = next;
    if (value < 1024) break;
  }
  // One decimal below 10 (1.5 MB), none above (250 MB): enough to tell files apart.
  const shown = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  return `${shown} ${unit}`;
}

/** How far an upload is, 0 to 100; a total of 0 (an empty file, or one not yet known) is 0 until done. */
export function progressPercent(loaded: number, total: number): number {
  if (!Number.isFinite(loaded) || !Number.isFinite(total) || total <= 0) return 0;
  return Math.min(100, Math.max(0, Math.floor((loaded / total) * 100)));
}

/** How far a batch of uploads is, weighted by size so one large file is not one of many. */
export function batchPercent(files: { size: number; loaded: number }[]): number {
  const total = files.reduce((sum, file) => sum + file.size, 0);
  const loaded = files.reduce((sum, file) => sum + Math.min(file.loaded, file.size), 0);
  return progressPercent(loaded, total);
}

/** A title from a file's name, as the library shows a new upload before the API answers. */
export function titleOfFile(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(0, dot) : name;
}

/** Bytes from the megabytes a settings form shows, and back. */
export const MB = 1024 * 1024;
export function megabytes(bytes: number | null | undefined): number | null {
  return bytes === null || bytes === undefined ? null : Math.round((bytes / MB) * 10) / 10;
}
export function bytesOf(megabytesValue: number | null | undefined): number | null {
  return megabytesValue === null || megabytesValue === undefined ? null : Math.round(megabytesValue * MB);
}

/** How much of a quota is used, 0 to 100; null without a quota. */
export function quotaPercent(used: number, quota: number | null | undefined): number | null {
  if (quota === null || quota === undefined || quota <= 0) return null;
  return Math.min(100, Math.round((used / quota) * 1000) / 10);
}
