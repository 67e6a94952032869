import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { appRoute, publicRoute } from "@/app/layouts";

/** Why the sign-in page was opened, for the notice above the form. */
export type SignInNotice = "password-reset";

export interface SignInSearch {
  next?: string;
  notice?: SignInNotice;
}

export const signInRoute = createRoute({
  getParentRoute: () => publicRoute,
  path: "/sign-in",
  validateSearch: (search: Record<string, unknown>): SignInSearch => ({
    ...(typeof search.next === "string" ? { next: search.next } : {}),
    ...(search.notice === "password-reset" ? { notice: search.notice } : {}),
  }),
  component: lazyRouteComponent(() => import("./SignInPage"), "SignInPage"),
});

const forgotPasswordRoute = createRoute({
  getParentRoute: () => publicRoute,
  path: "/forgot-password",
  component: lazyRouteComponent(() => import("./ForgotPasswordPage"), "ForgotPasswordPage"),
});

// The emailed links carry their token in the fragment (#token=…), which no server sees.
const resetPasswordRoute = createRoute({
  getParentRoute: () => publicRoute,
  path: "/reset-password",
  component: lazyRouteComponent(() => import("./ResetPasswordPage"), "ResetPasswordPage"),
});

const acceptInvitationRoute = createRoute({
  getParentRoute: () => publicRoute,
  path: "/accept-invitation",
  component: lazyRouteComponent(() => import("./AcceptInvitationPage"), "AcceptInvitationPage"),
});

/** Pages anyone may open. */
export const publicRoutes = [signInRoute, forgotPasswordRoute, resetPasswordRoute, acceptInvitationRoute] as const;

const twoFactorRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/account/two-factor",
  component: lazyRouteComponent(() => import("./TwoFactorPage"), "TwoFactorPage"),
});

const sessionsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/account/sessions",
  component: lazyRouteComponent(() => import("./SessionsPage"), "SessionsPage"),
});

const tokensRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/account/tokens",
  component: lazyRouteComponent(() => import("./TokensPage"), "TokensPage"),
});

const passwordRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/account/password",
  component: lazyRouteComponent(() => import("./PasswordPage"), "PasswordPage"),
});

/** Pages of the signed-in member's own account. */
export const appRoutes = [twoFactorRoute, sessionsRoute, tokensRoute, passwordRoute] as const;
