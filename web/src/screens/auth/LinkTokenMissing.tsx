import { Alert } from "@mantine/core";
import type { ReactNode } from "react";
import { READABLE_ALERT } from "./readable";

/** An emailed link opened without its token (cut short when copied, or typed by hand). */
export function LinkTokenMissing({ children }: { children: ReactNode }) {
  return (
    <Alert styles={READABLE_ALERT} color="red" title="This link is incomplete" role="alert">
      {children}
    </Alert>
  );
}
