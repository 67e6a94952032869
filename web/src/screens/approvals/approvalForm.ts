import type { components } from "@/api/schema";

export type FormField = components["schemas"]["FormField"];
export type FieldValue = string | number | boolean | null;

/** What each field of an approval's form starts as, before the approver fills it in. */
export function initialValues(fields: Record<string, FormField>): Record<string, FieldValue> {
  return Object.fromEntries(
    Object.entries(fields).map(([name, field]) => [
      name,
      field.type === "boolean" ? false : field.type === "date" || field.type === "choice" ? null : "",
    ]),
  );
}

/** The vote's form: the fields filled in, numbers as numbers; empty ones are left out. */
export function formPayload(
  fields: Record<string, FormField>,
  values: Record<string, FieldValue>,
): Record<string, string | number | boolean> {
  const payload: Record<string, string | number | boolean> = {};
  for (const [name, field] of Object.entries(fields)) {
    const value = values[name];
    if (value === null || value === undefined || value === "") continue;
    if (field.type === "number" || field.type === "integer") {
      const number = typeof value === "number" ? value : Number(value);
      payload[name] = Number.isFinite(number) ? number : String(value);
    } else {
      payload[name] = value;
    }
  }
  return payload;
}

/** A field's label: the one the approval gives, or its name made readable. */
export function fieldLabel(name: string, field: FormField): string {
  if (field.label) return field.label;
  const words = name.replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
