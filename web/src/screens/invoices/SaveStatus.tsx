import { Loader, Text } from "@mantine/core";

import type { SaveState } from "./useDraftAutosave";

const MESSAGES: Record<SaveState, string> = {
  saved: "All changes saved",
  pending: "Unsaved changes…",
  saving: "Saving…",
  failed: "Not saved: correct the fields marked in red",
};

/** Where the draft's autosave stands, announced to screen readers as it changes. */
export function SaveStatus({ state }: { state: SaveState }) {
  return (
    <Text size="sm" c={state === "failed" ? "red.8" : "gray.7"} role="status" aria-live="polite" data-testid="save-status">
      {state === "saving" && <Loader size="xs" mr={6} display="inline-block" />}
      {MESSAGES[state]}
    </Text>
  );
}
