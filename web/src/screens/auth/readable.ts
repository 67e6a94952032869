// Mantine's light alert titles fall below 4.5:1 contrast on their tinted backgrounds (axe's
// color-contrast rule); the theme does not change them, so these alerts write titles in the text colour.
export const READABLE_ALERT = { title: { color: "var(--mantine-color-text)" } };
