import { test, expect, signIn, hydrated, DEMO } from "./fixtures";

test("billing reads well at this screen size: header and balances fit without sideways scrolling", async ({ page }) => {
  await signIn(page, DEMO);
  await expect(page).toHaveURL(/\/billing$/);
  await expect(page.getByRole("link", { name: /^Total balance / })).toBeVisible();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Overview" }).getByRole("definition").first()).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});

test("the Add credit dialog fits this screen: every step's controls are reachable", async ({ page }) => {
  await signIn(page, DEMO);
  await expect(page).toHaveURL(/\/billing$/);
  await hydrated(page);
  await page.getByRole("button", { name: "Add credit" }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog.getByRole("heading", { name: "Amount" })).toBeVisible();
  const box = await dialog.boundingBox();
  const viewport = page.viewportSize()!;
  expect(box!.x).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width).toBeLessThanOrEqual(viewport.width);
  await dialog.getByLabel(/Custom amount/).fill("500000");
  await expect(dialog.getByRole("button", { name: "Continue" })).toBeInViewport();
  await dialog.getByRole("button", { name: "Continue" }).click();
  await dialog.getByRole("button", { name: "Continue" }).click();
  await expect(dialog.getByLabel("I understand that credits purchased are non-refundable.")).toBeVisible();
  await dialog.getByRole("button", { name: /^Pay / }).scrollIntoViewIfNeeded();
  await expect(dialog.getByRole("button", { name: /^Pay / })).toBeInViewport();
  await dialog.getByRole("button", { name: "Close" }).click();
  await expect(dialog).toBeHidden();
});
