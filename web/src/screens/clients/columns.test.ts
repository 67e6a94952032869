import { describe, expect, it } from "vitest";

import { columnReport, headerCells, splitCsvLine } from "./columns";

describe("headerCells", () => {
  it("reads the first line, without a byte order mark, by the delimiter that splits most", () => {
    expect(headerCells("\uFEFFName,Email\r\nAcme,a@b.c\r\n")).toEqual(["Name", "Email"]);
    expect(headerCells("\n\nname;email;phone\nx;y;z")).toEqual(["name", "email", "phone"]);
    expect(headerCells("name\ttags\n")).toEqual(["name", "tags"]);
  });

  it("respects quotes", () => {
    expect(splitCsvLine('"Name, full","say ""hi""",x', ",")).toEqual(["Name, full", 'say "hi"', "x"]);
  });

  it("has no cells for an empty file", () => {
    expect(headerCells(" \n")).toEqual([]);
  });
});

describe("columnReport", () => {
  it("maps columns as the API does and flags the ignored ones", () => {
    const report = columnReport(["Name", " E-mail ", "External Ref", "Notes", ""]);
    expect(report.blocking).toBeNull();
    expect(report.columns.map((column) => column.field)).toEqual(["name", null, "external_ref", null, null]);
    expect(report.columns[4]?.column).toBe("(unnamed column 5)");
  });

  it("blocks a file without a name column or with a column twice", () => {
    expect(columnReport(["email"]).blocking).toMatch(/no 'name' column/);
    expect(columnReport(["name", "Email", "email"]).blocking).toMatch(/'email' appears twice \(columns 2 and 3\)/);
    expect(columnReport([]).blocking).toMatch(/empty/);
  });
});
