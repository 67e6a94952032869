import { describe, expect, it } from "vitest";

import { compactOrders, groupLabel, moveItem, moveRecipient, nextOrder, orderGroups, recipientColour } from "./recipients";

const person = (name: string, routing_order: number) => ({ name, routing_order });

describe("orderGroups", () => {
  it("groups by routing order, ascending, members as listed", () => {
    const groups = orderGroups([person("c", 2), person("a", 1), person("d", 2), person("b", 1)]);
    expect(groups.map((group) => [group.order, group.members.map((member) => member.name)])).toEqual([
      [1, ["a", "b"]],
      [2, ["c", "d"]],
    ]);
    expect(groupLabel(groups[0] ?? { order: 0, members: [] })).toBe("Group 1 — in parallel");
    expect(groupLabel({ order: 3, members: [person("e", 3)] })).toBe("Group 3");
  });

  it("has no group for nobody", () => {
    expect(orderGroups([])).toEqual([]);
  });
});

describe("compactOrders", () => {
  it("renumbers groups 1, 2, 3 keeping who signs together", () => {
    expect(compactOrders([person("a", 2), person("b", 5), person("c", 2)]).map((p) => p.routing_order)).toEqual([1, 2, 1]);
  });
});

describe("moveItem", () => {
  it("swaps with the neighbour, and leaves the ends alone", () => {
    expect(moveItem(["a", "b", "c"], 1, -1)).toEqual(["b", "a", "c"]);
    expect(moveItem(["a", "b", "c"], 1, 1)).toEqual(["a", "c", "b"]);
    expect(moveItem(["a", "b"], 0, -1)).toEqual(["a", "b"]);
    expect(moveItem(["a", "b"], 1, 1)).toEqual(["a", "b"]);
  });
});

describe("nextOrder and colours", () => {
  it("puts a new recipient after everyone", () => {
    expect(nextOrder([])).toBe(1);
    expect(nextOrder([person("a", 1), person("b", 3)])).toBe(4);
  });

  it("cycles the colours", () => {
    expect(recipientColour(0)).toBe(recipientColour(8));
    expect(recipientColour(0)).not.toBe(recipientColour(1));
  });
});

describe("moveRecipient", () => {
  it("moves a recipient earlier and gives them the earlier order", () => {
    const moved = moveRecipient([person("a", 1), person("b", 2), person("c", 2)], 1, -1);
    expect(moved.map((p) => [p.name, p.routing_order])).toEqual([
      ["b", 1],
      ["a", 2],
      ["c", 2],
    ]);
  });

  it("leaves the list alone at its ends", () => {
    expect(moveRecipient([person("a", 1)], 0, 1)).toEqual([person("a", 1)]);
  });
});
