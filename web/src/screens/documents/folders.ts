interface FolderLike {
  id: string;
  name: string;
  parent_id: string | null;
}

/**
 * Folders in tree order, each with its depth: a parent before its children, siblings by
 * name. A folder whose parent is not in the list (another page, another client) sits at the
 * root rather than disappearing.
 */
export function folderTree<F extends FolderLike>(folders: F[]): { folder: F; depth: number }[] {
  const ids = new Set(folders.map((folder) => folder.id));
  const children = new Map<string | null, F[]>();
  for (const folder of folders) {
    const parent = folder.parent_id !== null && ids.has(folder.parent_id) ? folder.parent_id : null;
    children.set(parent, [...(children.get(parent) ?? []), folder]);
  }
  const ordered: { folder: F; depth: number }[] = [];
  const visit = (parent: string | null, depth: number) => {
    const siblings = [...(children.get(parent) ?? [])].sort((a, b) => a.name.localeCompare(b.name));
    for (const folder of siblings) {
      ordered.push({ folder, depth });
      visit(folder.id, depth + 1);
    }
  };
  visit(null, 0);
  return ordered;
}
