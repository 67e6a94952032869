/** Recipients in a signing order: sequential groups by routing order, parallel within a group. */

export const RECIPIENT_ROLES = ["signer", "approver", "cc"] as const;
export type RecipientRole = (typeof RECIPIENT_ROLES)[number];

export const ROLE_LABELS: Record<RecipientRole, string> = {
  signer: "Signer",
  approver: "Approver",
  cc: "Gets a copy",
};

export interface Ordered {
  routing_order: number;
}

export interface OrderGroup<T> {
  order: number;
  members: T[];
}

/** The recipients in the groups they are sent in: ascending order, each group's members as listed. */
export function orderGroups<T extends Ordered>(recipients: readonly T[]): OrderGroup<T>[] {
  const groups = new Map<number, T[]>();
  for (const recipient of recipients) {
    const members = groups.get(recipient.routing_order) ?? [];
    members.push(recipient);
    groups.set(recipient.routing_order, members);
  }
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([order, members]) => ({ order, members }));
}

/**
 * Renumbers the groups 1, 2, 3… keeping their order and who signs together, so removing
 * the only member of group 2 does not leave a gap the sender has to explain.
 */
export function compactOrders<T extends Ordered>(recipients: readonly T[]): T[] {
  const orders = [...new Set(recipients.map((recipient) => recipient.routing_order))].sort((a, b) => a - b);
  const renumbered = new Map(orders.map((order, index) => [order, index + 1]));
  return recipients.map((recipient) => ({ ...recipient, routing_order: renumbered.get(recipient.routing_order) ?? 1 }));
}

/** The list with the item at ``index`` moved one place up (-1) or down (+1); unchanged at an end. */
export function moveItem<T>(items: readonly T[], index: number, step: -1 | 1): T[] {
  const target = index + step;
  if (index < 0 || index >= items.length || target < 0 || target >= items.length) return [...items];
  const moved = [...items];
  const [item] = moved.splice(index, 1);
  if (item !== undefined) moved.splice(target, 0, item);
  return moved;
}

/** The order a new recipient gets: after everyone so far (signing in sequence is the common case). */
export function nextOrder(recipients: readonly Ordered[]): number {
  return recipients.reduce((highest, recipient) => Math.max(highest, recipient.routing_order), 0) + 1;
}

// Distinct at a glance, and white text on each has a contrast of at least 5:1 (WCAG AA).
const COLOURS = ["#1864ab", "#c2410c", "#237032", "#862e9c", "#a61e4d", "#0b7285", "#5f3dc4", "#8a5a00"];

/** The colour of the recipient at ``index``: the same in the palette and on every field of theirs. */
export function recipientColour(index: number): string {
  return COLOURS[((index % COLOURS.length) + COLOURS.length) % COLOURS.length] ?? "#495057";
}

/** Recipients who fill fields: signers and approvers; a CC only gets the copy. */
export function fillsFields(role: string): boolean {
  return role !== "cc";
}

/** A group's recipients described for the detail page: "Group 1 — in parallel" when several. */
export function groupLabel(group: OrderGroup<unknown>): string {
  return group.members.length > 1 ? `Group ${group.order} — in parallel` : `Group ${group.order}`;
}

/**
 * Moves a recipient one place up or down and swaps their order numbers with the neighbour's,
 * so moving someone earlier in the list also makes them sign earlier.
 */
export function moveRecipient<T extends Ordered>(recipients: readonly T[], index: number, step: -1 | 1): T[] {
  const here = recipients[index];
  const there = recipients[index + step];
  if (here === undefined || there === undefined) return [...recipients];
  const moved = moveItem(recipients, index, step);
  return moved.map((recipient) => {
    if (recipient === here) return { ...here, routing_order: there.routing_order };
    if (recipient === there) return { ...there, routing_order: here.routing_order };
    return recipient;
  });
}
