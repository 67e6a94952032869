/** Field descriptions in a shade that keeps 4.5:1 contrast (Mantine's dimmed one does not). */
export const hintStyles = { description: { color: "var(--mantine-color-gray-7)" } };
