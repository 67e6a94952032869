import type { components } from "@/api/schema";

type SamlConfig = components["schemas"]["SamlConfigRead"];
type SamlConfigCreate = components["schemas"]["SamlConfigCreate"];
type AssignableRole = NonNullable<SamlConfigCreate["default_role"]>;

/** Roles an IdP group may grant: never owner (made in firmflow) nor client (tied to a client). */
export const ASSIGNABLE_ROLES: AssignableRole[] = ["admin", "staff", "builder"];

export interface GroupRole {
  group: string;
  role: AssignableRole;
}

export interface SsoFormValues extends Record<string, unknown> {
  idp_metadata_xml: string;
  email_attribute: string;
  name_attribute: string;
  groups_attribute: string;
  role_mapping: GroupRole[];
  /** "" refuses a new user none of whose groups is mapped. */
  default_role: AssignableRole | "";
  enabled: boolean;
  jit_provisioning: boolean;
  enforce_sso: boolean;
  allow_idp_initiated: boolean;
}

function isAssignable(role: unknown): role is AssignableRole {
  return ASSIGNABLE_ROLES.includes(role as AssignableRole);
}

/** The form for a saved configuration, or the API's defaults for a new one. */
export function ssoFormValues(config: SamlConfig | null): SsoFormValues {
  if (!config) {
    return {
      idp_metadata_xml: "",
      email_attribute: "email",
      name_attribute: "name",
      groups_attribute: "",
      role_mapping: [],
      default_role: "",
      enabled: true,
      jit_provisioning: false,
      enforce_sso: false,
      allow_idp_initiated: false,
    };
  }
  return {
    // The saved metadata is not read back: empty keeps it.
    idp_metadata_xml: "",
    email_attribute: config.email_attribute ?? "",
    name_attribute: config.name_attribute ?? "",
    groups_attribute: config.groups_attribute ?? "",
    role_mapping: Object.entries(config.role_mapping).flatMap(([group, role]) =>
      isAssignable(role) ? [{ group, role }] : [],
    ),
    default_role: isAssignable(config.default_role) ? config.default_role : "",
    enabled: config.enabled,
    jit_provisioning: config.jit_provisioning,
    enforce_sso: config.enforce_sso,
    allow_idp_initiated: config.allow_idp_initiated,
  };
}

const orNull = (text: string): string | null => (text.trim() === "" ? null : text.trim());

/**
 * The API's body for the form: empty attribute names are null (the email then comes from the
 * NameID), the mapping a group → role object; an update without new metadata keeps the old.
 */
export function ssoBody(values: SsoFormValues, creating: true): SamlConfigCreate;
export function ssoBody(values: SsoFormValues, creating: false): Partial<SamlConfigCreate>;
export function ssoBody(values: SsoFormValues, creating: boolean): Partial<SamlConfigCreate> {
  const body: Partial<SamlConfigCreate> = {
    email_attribute: orNull(values.email_attribute),
    name_attribute: orNull(values.name_attribute),
    groups_attribute: orNull(values.groups_attribute),
    role_mapping: Object.fromEntries(
      values.role_mapping.filter((row) => row.group.trim() !== "").map((row) => [row.group.trim(), row.role]),
    ),
    default_role: values.default_role === "" ? null : values.default_role,
    enabled: values.enabled,
    jit_provisioning: values.jit_provisioning,
    enforce_sso: values.enforce_sso,
    allow_idp_initiated: values.allow_idp_initiated,
  };
  if (creating || values.idp_metadata_xml.trim() !== "") body.idp_metadata_xml = values.idp_metadata_xml;
  return body;
}
