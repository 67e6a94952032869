import type { CSSProperties } from "react";

/**
 * Mantine's "dimmed" grey (input descriptions, placeholders) is below 4.5:1 on white, which
 * axe counts as a serious violation: each settings page darkens it for what it contains.
 */
export const readableColors = { "--mantine-color-dimmed": "var(--mantine-color-gray-7)" } as CSSProperties;
