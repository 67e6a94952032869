import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { expect, test } from "@playwright/test";

import { expectAccessible, field, newFirm, signIn } from "./stack";

// Made once with tests/saml_idp.py's IdP (its own key and a self-signed certificate).
const IDP_METADATA = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "idp-metadata.xml");

test("SSO: bad metadata shows the API's error on the field, good metadata saves, SP metadata downloads", async ({
  page,
  request,
}) => {
  const firm = await newFirm(request, "setsso");
  await signIn(page, firm.email, firm.password);
  await page.goto("/settings/sso");
  await expect(page.getByRole("heading", { level: 1, name: "Single sign-on" })).toBeVisible();
  await expectAccessible(page);

  const metadata = field(page, /^Metadata XML/);
  await metadata.fill("<EntityDescriptor>not metadata</EntityDescriptor>");
  await page.getByRole("button", { name: "Save and enable" }).click();
  await expect(metadata).toHaveAttribute("aria-invalid", "true");
  await expect(metadata).toHaveAccessibleDescription(/exactly one identity provider/);

  // Mantine's file input is a button in front of a hidden <input type="file">.
  await page.locator('input[type="file"]').setInputFiles(IDP_METADATA);
  await expect(metadata).toHaveValue(readFileSync(IDP_METADATA, "utf8"));
  await field(page, /^Groups attribute/).fill("groups");
  await page.getByRole("button", { name: "Add a group" }).click();
  await field(page, /^Group 1/).fill("finance");
  await page.getByRole("button", { name: "Save and enable" }).click();

  const provider = page.getByRole("region", { name: "For your identity provider" });
  await expect(provider).toContainText("https://browser.idp.example.test/saml");
  await expect(provider.getByRole("link", { name: /Test sign-in/ })).toHaveAttribute(
    "href",
    `/v1/sso/${firm.slug}/login`,
  );
  const download = page.waitForEvent("download");
  await provider.getByRole("link", { name: "Download SP metadata (XML)" }).click();
  const xml = readFileSync(await (await download).path(), "utf8");
  expect(xml).toContain("EntityDescriptor");
  expect(xml).toContain(`/v1/sso/${firm.slug}/acs`);
  await expect(field(page, /^Group 1/)).toHaveValue("finance");
  await expectAccessible(page);
});
