/** The roles that can review a document (a client's login never does). */
export const REVIEWER_ROLES = ["owner", "admin", "staff"] as const;
export type ReviewerRole = (typeof REVIEWER_ROLES)[number];

export function isReviewerRole(value: string): value is ReviewerRole {
  return (REVIEWER_ROLES as readonly string[]).includes(value);
}

interface Reviewable {
  reviewer_user_ids: string[];
  reviewer_roles: string[];
  submitted_by?: string | null;
  votes: { user_id: string }[];
}

/**
 * Whether this user may still vote: named or of a named role, not the submitter, and not
 * voted yet (the API decides in the end).
 */
export function canVote(review: Reviewable, user: { id: string; role: string }): boolean {
  if (review.submitted_by === user.id) return false;
  if (review.votes.some((vote) => vote.user_id === user.id)) return false;
  return review.reviewer_user_ids.includes(user.id) || review.reviewer_roles.includes(user.role);
}
