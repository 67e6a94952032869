import type { ReactNode } from "react";

import classes from "./readable.module.css";

/** The class a Modal of this area takes, so its fields read as well as the page's. */
export const readableClass = classes.area;

/** A page of this area, with field errors and descriptions dark enough to read. */
export function Readable({ children }: { children: ReactNode }) {
  return <div className={classes.area}>{children}</div>;
}
