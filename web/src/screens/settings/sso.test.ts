import { describe, expect, it } from "vitest";

import { ssoBody, ssoFormValues } from "./sso";

describe("ssoBody", () => {
  const values = {
    ...ssoFormValues(null),
    idp_metadata_xml: "<EntityDescriptor/>",
    email_attribute: " ",
    groups_attribute: "groups",
    role_mapping: [
      { group: " finance ", role: "admin" as const },
      { group: "", role: "staff" as const },
    ],
  };

  it("sends empty attribute names as null and the mapping as an object", () => {
    expect(ssoBody(values, true)).toMatchObject({
      idp_metadata_xml: "<EntityDescriptor/>",
      email_attribute: null,
      name_attribute: "name",
      groups_attribute: "groups",
      role_mapping: { finance: "admin" },
      default_role: null,
      enabled: true,
    });
  });

  it("keeps the saved metadata when an update brings none", () => {
    expect(ssoBody({ ...values, idp_metadata_xml: "" }, false)).not.toHaveProperty("idp_metadata_xml");
    expect(ssoBody(values, false)).toHaveProperty("idp_metadata_xml", "<EntityDescriptor/>");
  });
});

describe("ssoFormValues", () => {
  it("starts with the API's defaults", () => {
    expect(ssoFormValues(null)).toMatchObject({ email_attribute: "email", name_attribute: "name", enabled: true });
  });
});
