import { describe, expect, it } from "vitest";

import { parseEnvelopeListSearch } from "./search";

describe("parseEnvelopeListSearch", () => {
  it("keeps a known status and a client id", () => {
    expect(parseEnvelopeListSearch({ status: "sent", client_id: "0F8FAD5B-D9CB-469F-A165-70867728950E" })).toEqual({
      status: "sent",
      client_id: "0f8fad5b-d9cb-469f-a165-70867728950e",
    });
  });

  it("drops what the API would refuse", () => {
    expect(parseEnvelopeListSearch({ status: "lost", client_id: "42" })).toEqual({});
  });
});
