import { test, expect, signIn, DEMO } from "./fixtures";

test("billing reads well at this screen size: header and balances fit without sideways scrolling", async ({ page }) => {
  await signIn(page, DEMO);
  await expect(page).toHaveURL(/\/billing$/);
  await expect(page.getByRole("link", { name: /^Total balance / })).toBeVisible();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Overview" }).getByRole("definition").first()).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});
