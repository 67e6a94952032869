import { Badge, createTheme, Notification, type CSSVariablesResolver } from "@mantine/core";

export const theme = createTheme({
  primaryColor: "indigo",
  // Darker shades than Mantine's defaults keep text on filled buttons above 4.5:1 contrast.
  primaryShade: 8,
  defaultRadius: "sm",
  fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif",
  components: {
    // A notification's close button is an icon: it needs a name to be announced.
    // Light badges write in their tint's own shade, below 4.5:1 for green, yellow and others;
    // the word carries the meaning, so it takes a dark text colour and the tint only helps.
    Badge: Badge.extend({
      vars: (_theme, props) => ({
        root: props.variant === "light" ? { "--badge-color": "var(--mantine-color-dark-8)" } : {},
      }),
    }),
    Notification: Notification.extend({
      defaultProps: { closeButtonProps: { "aria-label": "Dismiss" } },
    }),
  },
});

/**
 * Mantine's light scheme draws descriptions and dimmed text in gray.6 and errors (and the
 * required asterisk) in red.6, below the 4.5:1 contrast WCAG asks of text on white.
 */
export const cssVariablesResolver: CSSVariablesResolver = (resolved) => ({
  variables: {},
  light: {
    "--mantine-color-dimmed": resolved.colors.gray[7],
    "--mantine-color-error": resolved.colors.red[9],
  },
  dark: {},
});
