/** The sidebar: every screen a member reaches from the menu, grouped as the menu shows them. */
export interface NavItem {
  label: string;
  to: string;
}

export interface NavGroup {
  label: string;
  items: NavItem[];
}

export const navigation: NavGroup[] = [
  {
    label: "Work",
    items: [
      { label: "Dashboard", to: "/" },
      { label: "Clients", to: "/clients" },
      { label: "Documents", to: "/documents" },
      { label: "Envelopes", to: "/envelopes" },
      { label: "Client imports", to: "/imports" },
      { label: "Tasks", to: "/tasks" },
      { label: "Approvals", to: "/approvals" },
    ],
  },
  {
    label: "Billing",
    items: [
      { label: "Invoices", to: "/invoices" },
      { label: "Recurring invoices", to: "/recurring-invoices" },
      { label: "Reports", to: "/reports" },
      { label: "Tax rates", to: "/billing/tax-rates" },
      { label: "Billing settings", to: "/billing/settings" },
      { label: "Dunning policy", to: "/billing/dunning-policy" },
      { label: "Stripe", to: "/billing/stripe" },
    ],
  },
  {
    label: "Settings",
    items: [
      { label: "Users", to: "/settings/users" },
      { label: "Single sign-on", to: "/settings/sso" },
      { label: "Credentials", to: "/settings/credentials" },
      { label: "HTTP allow-list", to: "/settings/http-allow-list" },
      { label: "Security", to: "/settings/security" },
      { label: "Audit log", to: "/settings/audit-log" },
      { label: "Documents and retention", to: "/settings/documents" },
      { label: "E-signature", to: "/settings/esignature" },
    ],
  },
  {
    label: "Account",
    items: [
      { label: "Password", to: "/account/password" },
      { label: "Two-factor", to: "/account/two-factor" },
      { label: "Sessions", to: "/account/sessions" },
      { label: "API tokens", to: "/account/tokens" },
    ],
  },
];
