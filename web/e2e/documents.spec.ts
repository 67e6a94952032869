import { expect, test } from "@playwright/test";

import { dropFiles, EXECUTABLE } from "./documents.helpers";
import { expectAccessible, field, newFirm, signIn, unique } from "./stack";

test("files dropped and chosen become documents; a new version, the old one restored; an executable refused", async ({
  page,
  request,
}) => {
  const firm = await newFirm(request, "docs");
  await signIn(page, firm.email, firm.password);
  await page.goto("/documents");
  await expect(page.getByRole("heading", { level: 1, name: "Documents" })).toBeVisible();
  await expect(page.getByText("No documents yet")).toBeVisible();
  await expectAccessible(page);

  const letter = unique("engagement");
  await dropFiles(page, page.locator(".mantine-Dropzone-root"), [
    { name: `${letter}.txt`, mimeType: "text/plain", text: "We agree to prepare the annual accounts.\n" },
  ]);
  await page.getByLabel("Files to upload").setInputFiles({
    name: "renamed.pdf",
    mimeType: "application/pdf",
    buffer: Buffer.from(EXECUTABLE),
  });
  const documents = page.getByRole("table", { name: "Documents" });
  await expect(documents.getByRole("row").filter({ hasText: letter })).toContainText("v1");
  // The executable's row shows the API's problem, not a generic failure.
  const refused = page.locator('[data-upload="renamed.pdf"]');
  await expect(refused.getByRole("alert")).toContainText("Executable files are not accepted");
  await expect(documents.getByText("renamed")).toHaveCount(0);
  await expectAccessible(page);

  await documents.getByRole("link", { name: letter }).click();
  await expect(page.getByRole("heading", { level: 1, name: letter })).toBeVisible();
  await expectAccessible(page);
  const versions = page.getByRole("table", { name: "Versions" });
  const chooser = page.waitForEvent("filechooser");
  await page.getByLabel("New version").click();
  await (await chooser).setFiles({
    name: `${letter}-signed.txt`,
    mimeType: "text/plain",
    buffer: Buffer.from("We agree to prepare the annual accounts. Signed.\n"),
  });
  await field(page, "Note").fill("signed by the client");
  await page.getByRole("button", { name: "Upload version" }).click();
  await expect(versions.locator('[data-version="2"]')).toContainText("signed by the client");
  await expect(versions.locator('[data-version="2"]')).toContainText("current");

  await versions.getByRole("button", { name: "Restore v1 as newest" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Restore as newest" }).click();
  const restored = versions.locator('[data-version="3"]');
  await expect(restored).toContainText("Restored from v1");
  await expect(restored).toContainText(`${letter}.txt`);
  await expect(restored).toContainText("current");
  // The download goes through a signed link and arrives as an attachment with the version's name.
  const download = page.waitForEvent("download");
  await versions.getByRole("button", { name: "Download v1" }).click();
  expect((await download).suggestedFilename()).toBe(`${letter}.txt`);
});
