import { describe, expect, it } from "vitest";

import { canVote, isReviewerRole } from "./review";

const review = (users: string[], roles: string[], voted: string[] = []) => ({
  reviewer_user_ids: users,
  reviewer_roles: roles,
  votes: voted.map((user_id) => ({ user_id })),
});

describe("canVote", () => {
  it("lets a named reviewer or a reviewer's role vote once", () => {
    expect(canVote(review(["u1"], []), { id: "u1", role: "staff" })).toBe(true);
    expect(canVote(review([], ["admin"]), { id: "u2", role: "admin" })).toBe(true);
    expect(canVote(review(["u1"], ["admin"], ["u1"]), { id: "u1", role: "admin" })).toBe(false);
  });

  it("does not offer the vote to anyone else, nor to the submitter", () => {
    expect(canVote(review(["u1"], ["admin"]), { id: "u3", role: "staff" })).toBe(false);
    expect(canVote({ ...review([], ["admin"]), submitted_by: "u2" }, { id: "u2", role: "admin" })).toBe(false);
  });
});

describe("isReviewerRole", () => {
  it("knows the roles that review", () => {
    expect(isReviewerRole("staff")).toBe(true);
    expect(isReviewerRole("client")).toBe(false);
  });
});
