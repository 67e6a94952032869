import { describe, expect, it } from "vitest";

import { fieldErrors, problemOf, unplacedErrors, type Problem } from "./problem";

const base: Problem = {
  type: "https://firmflow.dev/problems/validation",
  title: "Invalid request",
  status: 422,
  detail: "2 fields are invalid",
  instance: "/v1/clients",
};

describe("fieldErrors", () => {
  it("keys each pointer by its dotted form path, first error wins", () => {
    const problem: Problem = {
      ...base,
      errors: [
        { pointer: "/name", detail: "Required" },
        { pointer: "/lines/0/quantity", detail: "Must be positive" },
        { pointer: "/name", detail: "Too long" },
        { pointer: "/a~1b", detail: "Escaped" },
      ],
    };
    expect(fieldErrors(problem)).toEqual({
      name: "Required",
      "lines.0.quantity": "Must be positive",
      "a/b": "Escaped",
    });
  });

  it("keys a parameter error by the parameter's name and leaves whole-body errors out", () => {
    const problem: Problem = {
      ...base,
      errors: [
        { parameter: "cursor", in: "query", detail: "Not a cursor" },
        { pointer: "", detail: "Body must be an object" },
      ],
    };
    expect(fieldErrors(problem)).toEqual({ cursor: "Not a cursor" });
  });
});

describe("unplacedErrors", () => {
  it("keeps the errors of fields the form does not show", () => {
    const problem: Problem = {
      ...base,
      errors: [
        { pointer: "/name", detail: "Required" },
        { pointer: "/internal", detail: "Hidden field" },
        { pointer: "", detail: "Whole body" },
      ],
    };
    expect(unplacedErrors(problem, ["name"]).map((item) => item.detail)).toEqual([
      "Hidden field",
      "Whole body",
    ]);
  });
});

describe("problemOf", () => {
  it("passes a problem body through unchanged", () => {
    expect(problemOf(422, base, "/v1/clients")).toBe(base);
  });

  it("makes a problem of an answer that is not one", () => {
    const made = problemOf(502, "<html>bad gateway</html>", "/v1/clients");
    expect(made.status).toBe(502);
    expect(made.instance).toBe("/v1/clients");
    expect(made.detail).not.toContain("<html>");
  });

  it("says the server cannot be reached when nothing answered", () => {
    expect(problemOf(0, null, "/v1/me").title).toBe("The server cannot be reached");
  });
});
