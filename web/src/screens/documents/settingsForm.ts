import { bytesOf, megabytes } from "./files";

/** ISO weekdays (1 = Monday), as the API names business days. */
export const WEEKDAYS = [
  { value: 1, label: "Mon" },
  { value: 2, label: "Tue" },
  { value: 3, label: "Wed" },
  { value: 4, label: "Thu" },
  { value: 5, label: "Fri" },
  { value: 6, label: "Sat" },
  { value: 7, label: "Sun" },
] as const;

/** Postgres's built-in text-search configurations, the languages a firm's documents are in. */
export const SEARCH_CONFIGS = [
  "simple",
  "arabic",
  "danish",
  "dutch",
  "english",
  "finnish",
  "french",
  "german",
  "greek",
  "hungarian",
  "italian",
  "norwegian",
  "portuguese",
  "romanian",
  "russian",
  "spanish",
  "swedish",
  "turkish",
] as const;

export interface DocumentSettings {
  documents_quota_bytes: number;
  upload_limit_bytes: number;
  allowed_upload_types: string[];
  search_config: string;
  business_days: number[];
  business_start: string;
  business_end: string;
}

/** The form keeps the API's field names (so its errors land on them) with sizes in megabytes. */
export interface SettingsValues extends Record<string, unknown> {
  documents_quota_bytes: number | string;
  upload_limit_bytes: number | string;
  allowed_upload_types: string[];
  search_config: string;
  business_days: string[];
  business_start: string;
  business_end: string;
}

/** "09:00:00" as a time field shows it: "09:00". */
export function hourMinute(time: string): string {
  return time.slice(0, 5);
}

export function settingsValues(settings: DocumentSettings): SettingsValues {
  return {
    documents_quota_bytes: megabytes(settings.documents_quota_bytes) ?? "",
    upload_limit_bytes: megabytes(settings.upload_limit_bytes) ?? "",
    allowed_upload_types: settings.allowed_upload_types,
    search_config: settings.search_config,
    business_days: settings.business_days.map(String),
    business_start: hourMinute(settings.business_start),
    business_end: hourMinute(settings.business_end),
  };
}

/** The PUT body: every setting, sizes back in bytes; what the form left empty the API refuses on its field. */
export function settingsBody(values: SettingsValues): DocumentSettings {
  const size = (value: number | string) => (value === "" ? 0 : (bytesOf(Number(value)) ?? 0));
  return {
    documents_quota_bytes: size(values.documents_quota_bytes),
    upload_limit_bytes: size(values.upload_limit_bytes),
    allowed_upload_types: values.allowed_upload_types.map((type) => type.trim().toLowerCase()).filter(Boolean),
    search_config: values.search_config,
    business_days: values.business_days.map(Number).sort((a, b) => a - b),
    business_start: values.business_start,
    business_end: values.business_end,
  };
}
