import { describe, expect, it } from "vitest";

import { folderTree } from "./folders";

const folder = (id: string, name: string, parent_id: string | null = null) => ({ id, name, parent_id });

describe("folderTree", () => {
  it("puts each folder after its parent, siblings by name", () => {
    const tree = folderTree([
      folder("c", "Tax", null),
      folder("a", "2025", "c"),
      folder("b", "Contracts", null),
      folder("d", "2024", "c"),
      folder("e", "Q1", "a"),
    ]);
    expect(tree.map(({ folder: { name }, depth }) => `${depth}:${name}`)).toEqual([
      "0:Contracts",
      "0:Tax",
      "1:2024",
      "1:2025",
      "2:Q1",
    ]);
  });

  it("keeps a folder whose parent is not listed, at the root", () => {
    expect(folderTree([folder("x", "Orphan", "missing")])).toEqual([{ folder: folder("x", "Orphan", "missing"), depth: 0 }]);
    expect(folderTree([])).toEqual([]);
  });
});
