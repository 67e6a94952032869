import { Anchor } from "@mantine/core";
import { useRouter } from "@tanstack/react-router";
import type { MouseEvent, ReactNode } from "react";

/**
 * A link to a page of another area by its address (an invoice, a run): a real anchor that
 * navigates inside the app, without tying this area's types to routes others define.
 */
export function AppLink({ href, children }: { href: string; children: ReactNode }) {
  const router = useRouter();
  const open = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    router.history.push(href);
  };
  return (
    <Anchor href={href} onClick={open} underline="always">
      {children}
    </Anchor>
  );
}
