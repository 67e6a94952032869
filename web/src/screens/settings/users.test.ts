import { describe, expect, it } from "vitest";

import { canManageUsers, roleLabel, userStatus } from "./users";

describe("userStatus", () => {
  it("tells members, pending invitations and deactivated users apart", () => {
    expect(userStatus({ is_active: true, password_set: true })).toBe("active");
    expect(userStatus({ is_active: false, password_set: false })).toBe("invited");
    expect(userStatus({ is_active: false, password_set: true })).toBe("deactivated");
  });
});

describe("roles", () => {
  it("names roles for people and lets only owners and admins manage users", () => {
    expect(roleLabel("builder")).toBe("Automation builder");
    expect(roleLabel("mystery")).toBe("mystery");
    expect(canManageUsers("admin")).toBe(true);
    expect(canManageUsers("staff")).toBe(false);
  });
});
