import { describe, expect, it } from "vitest";

import { ApiProblem } from "@/api/problem";
import { asksForFirm, confirmationError, groupSecret, nextStep, normaliseSlug, tokenFromFragment } from "./authFlow";

const problem = (status: number, detail: string) =>
  new ApiProblem({ type: "about:blank", title: "t", status, detail, instance: "/v1/auth/login" });

describe("nextStep", () => {
  it("asks for a code when two-factor is on", () => {
    expect(nextStep({ mfa_required: true, mfa_token: "ffm_a", expires_at: "2026-01-01T00:00:00Z" })).toEqual({
      kind: "code",
      mfaToken: "ffm_a",
    });
  });

  it("asks to enrol when the firm requires two-factor", () => {
    expect(
      nextStep({ mfa_enrollment_required: true, enrollment_token: "ffm_b", expires_at: "2026-01-01T00:00:00Z" }),
    ).toEqual({ kind: "enrol", enrollmentToken: "ffm_b" });
  });
});

describe("asksForFirm", () => {
  it("recognises the several-firms answer", () => {
    expect(asksForFirm(problem(401, "repeat the login with firm_slug set to the firm you want"))).toBe(true);
  });

  it.each([[problem(401, "Incorrect email or password")], [problem(422, "firm_slug is invalid")], [new Error("x")]])(
    "ignores anything else",
    (error) => {
      expect(asksForFirm(error)).toBe(false);
    },
  );
});

describe("tokenFromFragment", () => {
  it("reads the token of an emailed link", () => {
    expect(tokenFromFragment("#token=ffr_abc-DEF_1")).toBe("ffr_abc-DEF_1");
    expect(tokenFromFragment("token=ffi_x")).toBe("ffi_x");
  });

  it.each([[""], ["#"], ["#token="], ["#other=1"]])("finds none in %j", (hash) => {
    expect(tokenFromFragment(hash)).toBeNull();
  });
});

describe("small formatters", () => {
  it("groups a secret by four", () => {
    expect(groupSecret("JBSWY3DPEHPK3PXPAB")).toBe("JBSW Y3DP EHPK 3PXP AB");
  });

  it("normalises a slug", () => {
    expect(normaliseSlug("  Acme-LLP ")).toBe("acme-llp");
  });

  it("compares a password with its confirmation", () => {
    expect(confirmationError("a", "a")).toBeNull();
    expect(confirmationError("a", "b")).toMatch(/not the same/);
  });
});
