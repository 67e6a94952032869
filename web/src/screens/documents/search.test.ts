import { describe, expect, it } from "vitest";

import { hasLibraryFilters, parseDocumentSearch, parseLibrarySearch, typeLabel } from "./search";

const CLIENT = "0b6f6f2e-3a1c-4f55-9d7e-0c1d2e3f4a5b";

describe("parseLibrarySearch", () => {
  it("keeps the filters the API accepts", () => {
    expect(
      parseLibrarySearch({
        client_id: CLIENT,
        folder_id: CLIENT.toUpperCase(),
        document_type: " tax_return ",
        tag: "2025",
        status: "in_review",
        deleted: "true",
      }),
    ).toEqual({
      client_id: CLIENT,
      folder_id: CLIENT,
      document_type: "tax_return",
      tag: "2025",
      status: "in_review",
      deleted: true,
    });
  });

  it("drops what the API would refuse", () => {
    expect(
      parseLibrarySearch({ client_id: "nope", status: "lost", tag: "x".repeat(51), document_type: "", deleted: "no" }),
    ).toEqual({});
  });

  it("counts only the narrowing filters as filters", () => {
    expect(hasLibraryFilters({ client_id: CLIENT, deleted: true })).toBe(false);
    expect(hasLibraryFilters({ tag: "a" })).toBe(true);
  });
});

describe("parseDocumentSearch", () => {
  it("trims the words and caps them at 200 characters", () => {
    expect(parseDocumentSearch({ q: "  invoice  " })).toEqual({ q: "invoice" });
    expect(parseDocumentSearch({ q: "a".repeat(300) }).q).toHaveLength(200);
    expect(parseDocumentSearch({ q: "   ", status: "approved" })).toEqual({ status: "approved" });
  });
});

describe("typeLabel", () => {
  it("reads a type code as words", () => {
    expect(typeLabel("tax_return")).toBe("Tax return");
    expect(typeLabel("engagement-letter")).toBe("Engagement letter");
    expect(typeLabel("general")).toBe("General");
  });
});
