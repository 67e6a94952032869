import { expect, test } from "@playwright/test";

import { sendEnvelope } from "./signing.helpers";
import { apiAs, emailsTo, expectAccessible, field, linkIn, newFirm, unique } from "./stack";

test("a signer opens the emailed link, consents, fills a field, types a signature and signs; a tampered link opens nothing", async ({
  page,
  request,
}) => {
  const firm = await newFirm(request, "sign");
  const api = await apiAs(firm);
  const signer = { name: "Sam Signer", email: `sam@${unique("signer").toLowerCase()}.example.com` };
  const { recipientId } = await sendEnvelope(api, "Engagement letter", signer);
  await api.dispose();

  // The workflow emails the signer their link; the page takes the token out of the address.
  const [email] = await emailsTo(request, signer.email);
  const link = linkIn(email?.text ?? "", `/sign/${recipientId}`);
  await page.goto(link);
  await expect(page.getByRole("heading", { level: 1, name: "Engagement letter" })).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`/sign/${recipientId}$`));
  await expect(page.getByTestId("disclosure")).toContainText("electronic");
  await expectAccessible(page);

  await page.getByRole("checkbox", { name: "I agree to use electronic records and signatures" }).check();
  await page.getByRole("button", { name: "Continue" }).click();

  // The page image, the text field and the signature box over it.
  await expect(page.getByRole("img", { name: "Page 1 of 1 of Engagement letter" })).toBeVisible();
  const company = field(page, "Company name (required)");
  await page.getByRole("button", { name: "Finish", exact: true }).click();
  await expect(company).toBeFocused();
  await expect(company).toHaveAttribute("aria-invalid", "true");
  await company.fill("Acme Ltd");

  await page.getByRole("button", { name: /^Signature \(required\): add your signature/ }).click();
  const dialog = page.getByRole("dialog", { name: "Adopt your signature" });
  await expect(dialog.getByRole("textbox", { name: "Your name as you sign it" })).toHaveValue(signer.name);
  await expect(dialog.getByRole("img", { name: "Preview of your signature" })).toHaveText(signer.name);
  // The documents with their fields, and the dialog over them (the thank-you page is made of
  // the same parts as the invalid-link page checked below: axe runs take seconds each).
  await expectAccessible(page);
  await dialog.getByRole("button", { name: "Adopt signature" }).click();
  await expect(page.getByTestId("adopted-signature")).toContainText(signer.name);

  await page.getByRole("button", { name: "Finish", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Thank you, you have signed" })).toBeVisible();
  await expect(page.getByRole("link", { name: /Check that it has not been changed/ })).toHaveAttribute("href", "/verify");

  // One character changed in the token: the page says to ask the sender for a new link.
  const tampered = new URL(link);
  const token = tampered.searchParams.get("t") ?? "";
  tampered.searchParams.set("t", token.slice(0, -2) + (token.endsWith("A") ? "B" : "A") + token.slice(-1));
  await page.goto(tampered.toString());
  await expect(page.getByRole("heading", { level: 1, name: "This link does not work" })).toBeVisible();
  await expect(page.getByText("Ask the sender for a new link.")).toBeVisible();
  await expectAccessible(page);
});
