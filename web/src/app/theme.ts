import { createTheme } from "@mantine/core";

export const theme = createTheme({
  primaryColor: "indigo",
  // Darker shades than Mantine's defaults keep text on filled buttons above 4.5:1 contrast.
  primaryShade: 8,
  defaultRadius: "sm",
  fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif",
});
