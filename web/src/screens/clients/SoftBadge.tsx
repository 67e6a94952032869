import { Badge, type BadgeProps } from "@mantine/core";
import type { ReactNode } from "react";

/**
 * A tinted badge with dark text: Mantine's light badges write in the tint's own shade,
 * below 4.5:1 for green, yellow and others; the word carries the meaning, the tint helps.
 */
export function SoftBadge({ children, ...props }: BadgeProps & { children: ReactNode }) {
  return (
    <Badge variant="light" c="dark.8" {...props}>
      {children}
    </Badge>
  );
}
