import { describe, expect, it } from "vitest";

import { errorRows, importPercent, problemsFilename } from "./importRows";

describe("importPercent", () => {
  it("counts decided rows and is whole once completed", () => {
    expect(importPercent({ status: "running", total: 3, processed: 1 })).toBe(33);
    expect(importPercent({ status: "pending", total: 0, processed: 0 })).toBe(0);
    expect(importPercent({ status: "completed", total: 0, processed: 0 })).toBe(100);
  });
});

describe("errorRows", () => {
  it("has a header and a row per problem", () => {
    expect(errorRows({ errors: [{ line: 3, outcome: "invalid", reason: "email: bad" }] })).toEqual([
      ["line", "outcome", "reason"],
      [3, "invalid", "email: bad"],
    ]);
  });
});

describe("problemsFilename", () => {
  it("names the download after the upload", () => {
    expect(problemsFilename("Clients.CSV")).toBe("Clients-problems.csv");
    expect(problemsFilename(".csv")).toBe("import-problems.csv");
  });
});
