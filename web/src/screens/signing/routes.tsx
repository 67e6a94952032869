import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { parseSigningSearch } from "./token";
import { publicRoute } from "@/app/layouts";

/** The signing page of an emailed link: `/sign/<recipient id>?t=<token>`. */
export const signRoute = createRoute({
  getParentRoute: () => publicRoute,
  path: "/sign/$recipientId",
  validateSearch: parseSigningSearch,
  component: lazyRouteComponent(() => import("./SigningPage"), "SigningPage"),
});

/** Anyone checks whether a PDF is an intact firmflow-sealed document. */
export const verifyRoute = createRoute({
  getParentRoute: () => publicRoute,
  path: "/verify",
  component: lazyRouteComponent(() => import("./VerifyPage"), "VerifyPage"),
});

/** Pages a recipient or anyone opens without an account. */
export const publicRoutes = [signRoute, verifyRoute] as const;
