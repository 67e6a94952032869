import type { CSSProperties, ReactNode } from "react";

// Mantine's light scheme writes field errors, required asterisks (red.6) and descriptions
// (gray.6) below 4.5:1 contrast; these darker shades pass. CSS variables inherit, so every
// field inside takes them.
const READABLE = {
  "--mantine-color-error": "var(--mantine-color-red-9)",
  "--mantine-color-dimmed": "var(--mantine-color-gray-7)",
} as CSSProperties;

/** Form text (errors, asterisks, descriptions) readable for everyone. */
export function ReadableColors({ children }: { children: ReactNode }) {
  return <div style={READABLE}>{children}</div>;
}
