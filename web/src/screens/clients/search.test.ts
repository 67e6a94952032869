import { describe, expect, it } from "vitest";

import { clientsListParams, hasFilters, parseClientSearch, parseClientsSearch } from "./search";

describe("parseClientsSearch", () => {
  it("keeps the filters the API accepts", () => {
    expect(
      parseClientsSearch({ q: "  acme ", status: "active", tag: ["vip", "vip", " tax "], archived: true }),
    ).toEqual({ q: "acme", status: "active", tag: ["vip", "tax"], archived: true });
  });

  it("drops what the API would refuse", () => {
    expect(parseClientsSearch({ q: "   ", status: "gone", tag: ["", 3, "x".repeat(51)], archived: "no" })).toEqual(
      {},
    );
  });

  it("reads a single tag and caps the number of tags", () => {
    expect(parseClientsSearch({ tag: "vip" })).toEqual({ tag: ["vip"] });
    const many = Array.from({ length: 12 }, (_, index) => `t${index}`);
    expect(parseClientsSearch({ tag: many }).tag).toHaveLength(10);
  });
});

describe("clientsListParams", () => {
  it("asks for clients in use unless archived ones are wanted", () => {
    expect(clientsListParams({}, undefined).archived).toBe(false);
    expect(clientsListParams({ archived: true }, "c1")).toMatchObject({ archived: true, cursor: "c1" });
  });
});

describe("hasFilters", () => {
  it("is false for the plain list", () => {
    expect(hasFilters({})).toBe(false);
    expect(hasFilters({ tag: ["vip"] })).toBe(true);
  });
});

describe("parseClientSearch", () => {
  it("opens a known tab and ignores the rest", () => {
    expect(parseClientSearch({ tab: "timeline" })).toEqual({ tab: "timeline" });
    expect(parseClientSearch({ tab: "overview" })).toEqual({});
    expect(parseClientSearch({ tab: "secrets" })).toEqual({});
  });
});
