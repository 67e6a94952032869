import type { components } from "@/api/schema";

type User = components["schemas"]["UserRead"];
type Role = components["schemas"]["Role"];

/** The roles of the firm's own people; client-role users are tied to one client. */
export const FIRM_ROLES: Role[] = ["owner", "admin", "staff", "builder"];

const ROLE_LABELS: Record<Role, string> = {
  owner: "Owner",
  admin: "Admin",
  staff: "Staff",
  builder: "Automation builder",
  client: "Client",
};

export function roleLabel(role: string): string {
  return role in ROLE_LABELS ? ROLE_LABELS[role as Role] : role;
}

/** Owners and admins hold users:manage. */
export function canManageUsers(role: Role): boolean {
  return role === "owner" || role === "admin";
}

export type UserStatus = "active" | "invited" | "deactivated";

/** An inactive user who never set a password has not accepted their invitation yet. */
export function userStatus(user: Pick<User, "is_active" | "password_set">): UserStatus {
  if (user.is_active) return "active";
  return user.password_set ? "deactivated" : "invited";
}
