import { describe, expect, it } from "vitest";

import { fieldSpecs, placedFields, recipientParties } from "./envelopeFields";
import { recipientColour } from "./recipients";

const saved = {
  recipient_id: "r1",
  envelope_document_id: "d1",
  kind: "signature",
  page: 2,
  x: 0.1,
  y: 0.8,
  width: 0.3,
  height: 0.05,
  required: true,
  label: null,
};

describe("envelope fields in the builder", () => {
  it("round-trips the saved fields, a blank label sent as null", () => {
    const placed = placedFields([saved, { ...saved, kind: "stamp" }]);
    expect(placed).toHaveLength(1);
    expect(fieldSpecs(placed)).toEqual([saved]);
    expect(fieldSpecs([{ ...placed[0]!, label: "  Sign here " }])[0]?.label).toBe("Sign here");
  });

  it("offers signers and approvers, not copies, each in their list colour", () => {
    const parties = recipientParties([
      { id: "a", name: "Ann", email: "ann@example.com", role: "signer" },
      { id: "c", name: "Cy", email: "cy@example.com", role: "cc" },
      { id: "b", name: "Bo", email: "bo@example.com", role: "approver" },
    ]);
    expect(parties.map((party) => [party.key, party.colour])).toEqual([
      ["a", recipientColour(0)],
      ["b", recipientColour(2)],
    ]);
  });
});
