import { test, expect, signIn, hydrated, cli, accessible, DEMO } from "./fixtures";

test("every customer page passes axe with no serious or critical violation", async ({ page }) => {
  // Nine page loads and eleven axe runs against the debug server: 29.7 s of the default
  // 30 on the slowest machine yet (docs/benchmarks.md, "Build and test times").
  test.slow();
  await page.goto("/sign-in");
  await hydrated(page);
  await accessible(page, "sign-in");
  await signIn(page, DEMO);
  await expect(page).toHaveURL(/\/billing$/);
  for (const path of ["/billing", "/billing/history", "/billing/history?balance=voucher", "/billing/payments", "/billing/vouchers", "/billing/plans", "/billing/settings"]) {
    await page.goto(path);
    await hydrated(page);
    await expect(page.getByRole("heading", { name: "Billing Management" })).toBeVisible();
    await accessible(page, path);
  }
  // A refused voucher code's message, and the Add credit dialog.
  await page.goto("/billing");
  await hydrated(page);
  await page.getByLabel("Voucher code").fill("NOSUCHCODE");
  await page.getByRole("button", { name: "Apply Code" }).click();
  await expect(page.locator("#voucher-outcome")).not.toBeEmpty();
  await accessible(page, "Overview with a refused code");
  await page.getByRole("button", { name: "Add credit" }).click();
  await expect(page.getByRole("dialog")).toBeVisible();
  await accessible(page, "Add credit dialog");
});

test("the operator's Vouchers page passes axe, with its form errors shown", async ({ page }) => {
  await signIn(page, "admin@example.com");
  await expect(page).toHaveURL(/\/ops$/);
  await page.goto("/ops/vouchers");
  await hydrated(page);
  await accessible(page, "/ops/vouchers");
  await page.getByRole("button", { name: "Create campaign" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await accessible(page, "/ops/vouchers with errors");
  await page.goto("/ops/plans");
  await hydrated(page);
  await page.getByRole("button", { name: "Save plan" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await accessible(page, "/ops/plans with errors");
});

test("the operator console's lookup, account, approvals and audit pages pass axe", async ({ page }) => {
  const accountId = cli("account-id", "--email", DEMO);
  await signIn(page, "admin@example.com");
  await expect(page).toHaveURL(/\/ops$/);
  await hydrated(page);
  await page.getByLabel(/Email, account id, payment reference/).fill(DEMO);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.getByRole("table", { name: "Accounts found" })).toBeVisible();
  await accessible(page, "/ops with results");
  await page.goto(`/ops/accounts/${accountId}`);
  await hydrated(page);
  await page.getByRole("button", { name: "Submit adjustment" }).click();
  await expect(page.getByRole("alert").first()).toBeVisible();
  await accessible(page, "the account page with the adjustment form's errors");
  for (const path of [`/ops/accounts/${accountId}/history`, `/ops/accounts/${accountId}/audit`, "/ops/approvals", "/ops/audit"]) {
    await page.goto(path);
    await hydrated(page);
    await expect(page.getByRole("heading", { level: 2 }).first()).toBeVisible();
    await accessible(page, path);
  }
});
