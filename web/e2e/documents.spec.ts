import { expect, test } from "@playwright/test";

import { dropFiles, EXECUTABLE, limitUploads, uploadDocument } from "./documents.helpers";
import { memberOf } from "./settings.helpers";
import { apiAs, expectAccessible, field, newFirm, signIn, unique } from "./stack";

test("files dropped and chosen become documents; a new version, the old one restored; an executable and a too-large file refused", async ({
  page,
  request,
}) => {
  const firm = await newFirm(request, "docs");
  const owner = await apiAs(firm);
  await limitUploads(owner, 1024 * 1024);
  await signIn(page, firm.email, firm.password);
  await page.goto("/documents");
  await expect(page.getByRole("heading", { level: 1, name: "Documents" })).toBeVisible();
  await expect(page.getByText("No documents yet")).toBeVisible();

  const letter = unique("engagement");
  await dropFiles(page, page.locator(".mantine-Dropzone-root"), [
    { name: `${letter}.txt`, mimeType: "text/plain", text: "We agree to prepare the annual accounts.\n" },
  ]);
  await page.getByLabel("Files to upload").setInputFiles([
    { name: "renamed.pdf", mimeType: "application/pdf", buffer: Buffer.from(EXECUTABLE) },
    { name: "scan.txt", mimeType: "text/plain", buffer: Buffer.alloc(2 * 1024 * 1024, 97) },
  ]);
  const documents = page.getByRole("table", { name: "Documents" });
  await expect(documents.getByRole("row").filter({ hasText: letter })).toContainText("v1");
  // The executable's row shows the API's problem, not a generic failure.
  const refused = page.locator('[data-upload="renamed.pdf"]');
  await expect(refused.getByRole("alert")).toContainText("Executable files are not accepted");
  await expect(page.locator('[data-upload="scan.txt"]').getByRole("alert")).toContainText("at most 1.0 MiB");
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
  await owner.dispose();
});

test("a document submitted for review is approved by its reviewer and published", async ({ page, request }) => {
  const firm = await newFirm(request, "docreview");
  const owner = await apiAs(firm);
  const staff = await memberOf(owner, request, firm, "staff");
  const title = unique("Engagement letter");
  await uploadDocument(owner, { name: "letter.txt", mimeType: "text/plain", text: "Engagement terms.\n" }, { title });

  await signIn(page, firm.email, firm.password);
  await page.goto("/documents");
  await page.getByRole("link", { name: title }).click();
  await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
  const review = page.getByRole("region", { name: "Review" });
  await review.getByLabel("Reviewers", { exact: true }).click();
  await page.getByRole("option", { name: "The staff" }).click();
  await review.getByRole("textbox", { name: "Message to the reviewers" }).fill("Please check the fees.");
  await review.getByRole("button", { name: "Submit for review" }).click();
  await expect(page.getByText("In review").first()).toBeVisible();
  await expect(review.getByText("pending")).toBeVisible();
  await expectAccessible(page);
  await page.getByRole("button", { name: "Sign out" }).click();

  await signIn(page, staff.email, "another correct horse staple");
  await page.goto("/documents");
  await page.getByRole("link", { name: title }).click();
  await review.getByRole("textbox", { name: "Your comment" }).fill("Fees are right.");
  await review.getByRole("button", { name: "Approve" }).click();
  await expect(review.getByRole("table", { name: "Votes" })).toContainText("Fees are right.");
  // The review's workflow publishes it as the submitter asked.
  await expect(page.getByText("Published").first()).toBeVisible({ timeout: 20_000 });
  await expect(review.getByText("This version is published.")).toBeVisible();
  await owner.dispose();
  await staff.api.dispose();
});

test("search finds a word of a file's text, highlighted; a legal hold refuses the delete", async ({ page, request }) => {
  const firm = await newFirm(request, "docsearch");
  const owner = await apiAs(firm);
  // Letters only, so the text search reads it as one word.
  const word = `quokka${Array.from({ length: 8 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join("")}`;
  const title = unique("Fee note");
  await uploadDocument(
    owner,
    { name: "fees.txt", mimeType: "text/plain", text: `The fees for ${word} R&D are due in March.\n` },
    { title },
  );
  // The text is extracted after the upload, by a workflow.
  await expect
    .poll(async () => ((await (await owner.get(`/v1/document-search?q=${word}`)).json()) as { items: unknown[] }).items.length, {
      timeout: 20_000,
    })
    .toBe(1);

  await signIn(page, firm.email, firm.password);
  await page.goto(`/documents/search?q=${word}`);
  const result = page.getByRole("list", { name: "Search results" }).getByRole("listitem");
  await expect(result.locator("mark")).toHaveText(word);
  // The API escapes the document's text; the page shows it as written.
  await expect(result.getByTestId("snippet")).toContainText(`${word} R&D`);
  await expectAccessible(page);

  await result.getByRole("link", { name: title }).click();
  await page.getByRole("button", { name: "Place legal hold" }).click();
  const holdDialog = page.getByRole("dialog");
  await holdDialog.getByRole("textbox", { name: "Reason" }).fill("Audit of 2025");
  await holdDialog.getByRole("button", { name: "Place legal hold" }).click();
  await expect(page.getByText("Under legal hold")).toBeVisible();
  await page.getByRole("button", { name: "Delete" }).click();
  const deleteDialog = page.getByRole("dialog", { name: `Delete ${title}?` });
  await deleteDialog.getByRole("button", { name: "Delete" }).click();
  await expect(deleteDialog.getByRole("alert")).toContainText("legal hold");
  await deleteDialog.getByRole("button", { name: "Cancel" }).click();

  await page.goto("/settings/documents");
  await expect(page.getByRole("heading", { level: 1, name: "Document settings" })).toBeVisible();
  await expect(page.getByRole("table", { name: "Legal holds" })).toContainText("Audit of 2025");
  await field(page, "Document type").fill("tax_return");
  await field(page, "Kept for (days)").fill("3650");
  await page.getByRole("button", { name: "Add policy" }).click();
  await expect(page.getByRole("table", { name: "Retention policies" })).toContainText("10 years");
  await expectAccessible(page);
  await owner.dispose();
});
