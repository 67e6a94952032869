import type { CSSProperties } from "react";

/**
 * Mantine's "dimmed" grey (input descriptions) and its error red (field errors) are below
 * 4.5:1 on white, which axe counts as serious: each settings page darkens them for what it
 * contains (CSS variables inherit).
 */
export const readableColors = {
  "--mantine-color-dimmed": "var(--mantine-color-gray-7)",
  "--mantine-color-error": "var(--mantine-color-red-9)",
} as CSSProperties;
