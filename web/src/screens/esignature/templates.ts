/** A template's roles as the form edits them, and their keys as the API wants them. */

export interface RoleDraft {
  key: string;
  name: string;
  role: string;
  routing_order: number;
  require_code: boolean;
}

/**
 * A role's key from its name ("Spouse 2" → "spouse-2"), unique among ``taken``: lowercase
 * letters, digits and dashes, as the API's pattern allows.
 */
export function roleKey(name: string, taken: readonly string[]): string {
  const base =
    name
      .toLowerCase()
      .normalize("NFKD")
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 90) || "role";
  let key = base;
  for (let suffix = 2; taken.includes(key); suffix += 1) key = `${base}-${suffix}`;
  return key;
}

/** Gives every role a key: kept when it has one (fields refer to it), made from its name otherwise. */
export function withKeys(roles: readonly RoleDraft[]): RoleDraft[] {
  const taken: string[] = [];
  return roles.map((role) => {
    const key = role.key || roleKey(role.name, [...taken, ...roles.map((other) => other.key).filter(Boolean)]);
    taken.push(key);
    return { ...role, key };
  });
}

export type Filler = { contact_id: string } | { name: string; email: string };

/** How the "use for a client" form names who fills a role: a contact's id, or "other". */
export const OTHER_PERSON = "other";

/** The instantiate body's ``recipients``: each role's contact, or the name and email typed for it. */
export function fillers(
  roles: readonly { key: string }[],
  choices: Record<string, string>,
  typed: Record<string, { name: string; email: string }>,
): Record<string, Filler> {
  const result: Record<string, Filler> = {};
  for (const { key } of roles) {
    const choice = choices[key];
    if (choice && choice !== OTHER_PERSON) result[key] = { contact_id: choice };
    else result[key] = { name: typed[key]?.name.trim() ?? "", email: typed[key]?.email.trim() ?? "" };
  }
  return result;
}
