import { test, expect, signIn, hydrated, cli, DEMO } from "./fixtures";

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

test("Credit History and Payment History fit this screen: date, amount and status visible, no sideways scroll, every tab reachable", async ({ page }) => {
  const missing: string[] = [];
  page.on("response", (r) => {
    if (r.status() === 404 && r.url().includes("127.0.0.1")) missing.push(r.url());
  });
  await signIn(page, DEMO);
  await expect(page).toHaveURL(/\/billing$/);
  for (const path of ["/billing/history", "/billing/history?status=failed", "/billing/payments"]) {
    await page.goto(path);
    await hydrated(page);
    const table = page.getByRole("table");
    const firstRow = table.getByRole("row").nth(1);
    await expect(firstRow).toBeVisible();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${path} scrolls sideways`).toBeLessThanOrEqual(0);
    const viewport = page.viewportSize()!;
    for (const cell of [firstRow.getByRole("cell").first(), firstRow.getByRole("cell").filter({ hasText: /Success|Failed|Processed|Pending/ }).first()]) {
      const box = (await cell.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(viewport.width + 1);
    }
    const tab = page.getByRole("navigation", { name: "Billing sections" }).getByRole("link", { name: "Payment History" });
    const tabBox = (await tab.boundingBox())!;
    expect(tabBox.x + tabBox.width).toBeLessThanOrEqual(viewport.width + 1);
  }
  // A declined charge moved no money: struck through, and read as not charged.
  await page.goto("/billing/history?status=failed");
  await hydrated(page);
  const declined = page.getByRole("table").getByRole("row").nth(1).getByRole("cell").last();
  await expect(declined).toContainText("(not charged)");
  await expect(declined.locator("s")).toHaveCount(1);
  // The favicon is shipped: no page asked for a file that is not there.
  expect(missing).toEqual([]);
});

test("the Voucher List and the operator's Vouchers page fit this screen: no sideways scroll, code, state and amounts visible", async ({ page }) => {
  await signIn(page, DEMO);
  await expect(page).toHaveURL(/\/billing$/);
  await expect(page.getByRole("button", { name: "Apply Code" })).toBeVisible();
  const viewport = page.viewportSize()!;
  const fits = async (what: string) => {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${what} scrolls sideways`).toBeLessThanOrEqual(0);
  };
  await fits("the Overview");
  await page.goto("/billing/vouchers");
  await hydrated(page);
  const row = page.getByRole("table", { name: "Vouchers" }).locator("tbody").getByRole("row").first();
  await expect(row).toBeVisible();
  await fits("the Voucher List");
  for (const cell of [row.getByRole("cell").first(), row.getByRole("cell").filter({ hasText: /Active|Used up|Expired/ })]) {
    const box = (await cell.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(viewport.width + 1);
  }
  for (const path of ["/billing/plans", "/billing/settings"]) {
    await page.goto(path);
    await hydrated(page);
    await expect(page.getByRole("heading", { name: path.endsWith("plans") ? "Billing Plans" : "Settings", exact: true })).toBeVisible();
    await fits(path);
  }
  await page.getByRole("button", { name: "Sign out" }).click();
  await signIn(page, "admin@example.com");
  await expect(page).toHaveURL(/\/ops$/);
  await page.goto("/ops/vouchers");
  await hydrated(page);
  await expect(page.getByRole("table", { name: "Campaigns" })).toBeVisible();
  await fits("the operator's Vouchers page");
});

test("the operator console fits this screen: lookup results, the account's tables and the audit log without sideways scroll", async ({ page }) => {
  const accountId = cli("account-id", "--email", DEMO);
  const fits = async (what: string) => {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${what} scrolls sideways`).toBeLessThanOrEqual(0);
  };
  await signIn(page, "admin@example.com");
  await expect(page).toHaveURL(/\/ops$/);
  await hydrated(page);
  await page.getByLabel(/Email, account id, payment reference/).fill(DEMO);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.getByRole("table", { name: "Accounts found" })).toBeVisible();
  await fits("the lookup");
  for (const [path, table] of [
    [`/ops/accounts/${accountId}`, "Voucher grants"],
    [`/ops/accounts/${accountId}/history`, "Credit history"],
    [`/ops/accounts/${accountId}/payments`, "Payment history"],
    ["/ops/audit", "Audit log entries"],
  ]) {
    await page.goto(path);
    await hydrated(page);
    await expect(page.getByRole("table", { name: table })).toBeVisible();
    await fits(path);
  }
});
