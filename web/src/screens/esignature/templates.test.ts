import { describe, expect, it } from "vitest";

import { OTHER_PERSON, fillers, roleKey, withKeys } from "./templates";

describe("role keys", () => {
  it("makes a key the API accepts from a name, unique among the others", () => {
    expect(roleKey("Spouse 2", [])).toBe("spouse-2");
    expect(roleKey("Client", ["client"])).toBe("client-2");
    expect(roleKey("Client", ["client", "client-2"])).toBe("client-3");
    expect(roleKey("!!!", [])).toBe("role");
  });

  it("keeps the keys fields refer to and fills the missing ones", () => {
    const role = { name: "", role: "signer", routing_order: 1, require_code: false };
    expect(withKeys([{ ...role, key: "client", name: "Client" }, { ...role, key: "", name: "Client" }]).map((r) => r.key)).toEqual([
      "client",
      "client-2",
    ]);
  });
});

describe("fillers", () => {
  it("uses the chosen contact, or the name and email typed", () => {
    expect(
      fillers(
        [{ key: "client" }, { key: "spouse" }],
        { client: "c1", spouse: OTHER_PERSON },
        { spouse: { name: " Sam ", email: "sam@example.com " } },
      ),
    ).toEqual({ client: { contact_id: "c1" }, spouse: { name: "Sam", email: "sam@example.com" } });
  });
});
