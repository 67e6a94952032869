// Mantine's light alert titles and input descriptions fall below 4.5:1 contrast on their
// backgrounds (axe's color-contrast rule); these styles keep them readable.
export const READABLE_ALERT = { title: { color: "var(--mantine-color-text)" } };
export const READABLE_INPUT = { description: { color: "var(--mantine-color-gray-7)" } };
