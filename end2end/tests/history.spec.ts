import { test, expect, signIn, hydrated, cli, DEMO, SECOND, API_KEY } from "./fixtures";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import type { Page, Download } from "@playwright/test";

/** Data rows in every sheet of a downloaded .xlsx (header rows excluded). */
async function xlsxDataRows(download: Download): Promise<number> {
  const file = await download.path();
  const script = [
    "import re, sys, zipfile",
    "z = zipfile.ZipFile(sys.argv[1])",
    "sheets = [n for n in z.namelist() if re.match(r'xl/worksheets/sheet\\d+\\.xml$', n)]",
    "print(sum(z.read(n).decode().count('<row ') - 1 for n in sheets))",
  ].join("\n");
  return Number(execFileSync("python3", ["-c", script, file], { encoding: "utf8" }).trim());
}

async function openHistory(page: Page, email: string, password?: string) {
  await signIn(page, email, password);
  await expect(page).toHaveURL(/\/billing$/);
  await page.getByRole("link", { name: "Credit History" }).click();
  await expect(page).toHaveURL(/\/billing\/history$/);
  await expect(page.getByRole("table", { name: "Credit history" })).toBeVisible();
  await hydrated(page);
}

const table = (page: Page) => page.getByRole("table", { name: "Credit history" });
const bodyRows = (page: Page) => table(page).locator("tbody").getByRole("row");
const matchCount = async (page: Page) => {
  const text = await page.getByText(/\d+ transactions? match/).textContent();
  return Number(text?.match(/\d+/)?.[0]);
};

test.describe("Credit History", () => {
  test.beforeAll(async ({ request }) => {
    // 30 declined charges give the second customer (no credit) 30 Failed rows to page
    // through. Fixed keys: if the worker restarts, the API replays instead of adding rows.
    const account = cli("account-id", "--email", SECOND);
    for (let i = 0; i < 30; i++) {
      const response = await request.post("/api/v1/charges", {
        headers: { Authorization: `Bearer ${API_KEY}`, "Idempotency-Key": `e2e-paging-${i}` },
        data: {
          account_id: account,
          service: "gpu_container",
          resource: `e2e-paging-${i}`,
          description: "paging fixture",
          amount: "1.00",
        },
      });
      expect(response.status()).toBe(402);
    }
  });

  test("shows top-up credits by default, newest first, in the account's currency", async ({ page }) => {
    await openHistory(page, DEMO);
    const headers = table(page).getByRole("columnheader");
    await expect(headers).toHaveText(["Date", "Service", "Source", "Description", "Status", "Amount"]);
    const first = bodyRows(page).first();
    await expect(first).toContainText("Payment Gateway");
    await expect(first).toContainText("VNPay");
    await expect(first).toContainText("Processed");
    await expect(first).toContainText("+500.000 ₫");
    await expect(table(page)).toContainText("GPU Container");
    await expect(table(page)).toContainText("Failed");
    await expect(page.getByText("Times are shown in Asia/Ho_Chi_Minh.")).toBeVisible();
  });

  test("each filter changes the URL, combines, survives a reload, and clears", async ({ page }) => {
    await openHistory(page, DEMO);

    await page.getByLabel("Balance type").selectOption({ label: "Voucher credits" });
    await expect(page).toHaveURL(/balance=voucher/);
    await expect(table(page).getByRole("columnheader", { name: "Code" })).toBeVisible();
    await expect(table(page)).toContainText("WELCOME1M");
    await expect(table(page)).toContainText("System");

    await page.getByLabel("Balance type").selectOption({ label: "Top-up credits" });
    await expect(page).not.toHaveURL(/balance=/);
    await expect(table(page).getByRole("columnheader", { name: "Code" })).toHaveCount(0);

    await page.getByRole("group", { name: "Service" }).getByLabel("GPU Container").check();
    await expect(page).toHaveURL(/service=gpu%5Fcontainer/);
    await page.getByRole("group", { name: "Service" }).getByLabel("AI Inference").check();
    await expect(page).toHaveURL(/service=gpu%5Fcontainer&service=ai%5Finference/);
    const services = bodyRows(page).locator("td:nth-child(2)");
    await expect(services.first()).toBeVisible();
    for (const text of await services.allTextContents()) {
      expect(["GPU Container", "AI Inference"]).toContain(text);
    }

    await page.getByRole("group", { name: "Status" }).getByLabel("Failed").check();
    await expect(page).toHaveURL(/status=failed/);
    await expect(bodyRows(page)).toHaveCount(1);
    await expect(bodyRows(page).first()).toContainText("gpu-cluster-8xh100");

    await page.reload();
    await hydrated(page);
    await expect(page.getByRole("group", { name: "Status" }).getByLabel("Failed")).toBeChecked();
    await expect(page.getByRole("group", { name: "Service" }).getByLabel("GPU Container")).toBeChecked();
    await expect(bodyRows(page)).toHaveCount(1);

    await page.goBack();
    await expect(page).not.toHaveURL(/status=failed/);
    await expect(page.getByRole("group", { name: "Status" }).getByLabel("Failed")).not.toBeChecked();
    await page.goForward();
    await expect(page).toHaveURL(/status=failed/);
    await expect(bodyRows(page)).toHaveCount(1);

    await page.getByRole("button", { name: "Clear filters" }).click();
    await expect(page).toHaveURL(/\/billing\/history$/);
    await expect(page.getByRole("group", { name: "Status" }).getByLabel("Failed")).not.toBeChecked();
  });

  test("the date range is inclusive and an end before the start is refused", async ({ page }) => {
    await openHistory(page, DEMO);
    const total = await matchCount(page);
    // The newest processed top-up's day, as the page shows it in the account's time zone
    // (not "today": just after midnight there, the demo's newest top-up is yesterday's).
    const newest = bodyRows(page).filter({ hasText: "Processed" }).first().getByRole("cell").first();
    const day = (await newest.textContent())?.match(/\d{4}-\d{2}-\d{2}/)?.[0];
    expect(day).toBeDefined();
    await page.getByLabel("Start date").fill(day!);
    await expect(page).toHaveURL(new RegExp(`from=${day!.replaceAll("-", "%2D")}`));
    await page.getByLabel("End date").fill(day!);
    await expect(page).toHaveURL(/to=/);
    await expect(table(page)).toContainText("Processed");
    await expect.poll(() => matchCount(page)).toBeLessThan(total);

    await page.getByLabel("End date").fill("2020-01-01");
    await expect(page.getByRole("alert")).toHaveText("The end date must be on or after the start date.");
    await expect(page).toHaveURL(/to=/);
    await expect(page).not.toHaveURL(/to=2020/);

    await page.getByLabel("Start date").fill("2000-01-01");
    await page.getByLabel("End date").fill("2000-01-02");
    await expect(page.getByText("No transactions match these filters.")).toBeVisible();
  });

  test("pages forward and back, and the page lives in the URL", async ({ page }) => {
    await openHistory(page, SECOND, "second-password");
    await expect(bodyRows(page)).toHaveCount(25);
    await expect(bodyRows(page).first()).toContainText("e2e-paging-29");
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Next" }).click();
    await expect(page).toHaveURL(/after=/);
    await expect(bodyRows(page)).toHaveCount(5);
    await expect(bodyRows(page).last()).toContainText("e2e-paging-0");
    await page.reload();
    await expect(bodyRows(page)).toHaveCount(5);
    await hydrated(page);
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Previous" }).click();
    await expect(bodyRows(page)).toHaveCount(25);
    await expect(bodyRows(page).first()).toContainText("e2e-paging-29");

    await page.getByLabel("Rows per page").selectOption("50");
    await expect(page).toHaveURL(/size=50/);
    await expect(bodyRows(page)).toHaveCount(30);
  });

  test("Export Excel downloads every matching row, not just the page", async ({ page }) => {
    await openHistory(page, SECOND, "second-password");
    await page.getByRole("group", { name: "Status" }).getByLabel("Failed").check();
    await expect(page).toHaveURL(/status=failed/);
    await expect(page.getByText("30 transactions match")).toBeVisible();
    const total = await matchCount(page);
    const button = page.getByRole("link", { name: "Export Excel" });
    const [download] = await Promise.all([page.waitForEvent("download"), button.click()]);
    expect(download.suggestedFilename()).toMatch(/^credit-history-topup-\d{4}-\d{2}-\d{2}\.xlsx$/);
    expect(await xlsxDataRows(download)).toBe(total);
    await expect(page.getByRole("link", { name: "Export Excel" })).toHaveAttribute("aria-busy", "false");

    await page.getByLabel("Balance type").selectOption({ label: "Voucher credits" });
    await expect(page.getByText("No transactions match these filters.")).toBeVisible();
    const [empty] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export Excel" }).click()]);
    expect(empty.suggestedFilename()).toMatch(/^credit-history-voucher-/);
    expect(await xlsxDataRows(empty)).toBe(0);
  });

  test("a customer cannot read another account's rows by editing the URL", async ({ page }) => {
    // A page link from the second customer's history...
    await openHistory(page, SECOND, "second-password");
    const next = await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Next" }).getAttribute("href");
    expect(next).toBeTruthy();
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/sign-in$/);

    // ...opened by the demo customer shows only the demo customer's rows.
    await signIn(page, DEMO);
    await expect(page).toHaveURL(/\/billing$/);
    await page.goto(next!);
    await expect(page.getByRole("heading", { name: "Credit History" })).toBeVisible();
    await expect(page.getByRole("main")).not.toContainText("e2e-paging");

    // The export has no account parameter to edit; extra parameters change nothing.
    const response = await page.request.get(`/billing/history/export?account_id=${cli("account-id", "--email", SECOND)}&status=failed`);
    expect(response.status()).toBe(200);
    const file = test.info().outputPath("demo-export.xlsx");
    writeFileSync(file, await response.body());
    const rows = Number(
      execFileSync(
        "python3",
        ["-c", "import sys,zipfile; print(zipfile.ZipFile(sys.argv[1]).read('xl/worksheets/sheet1.xml').decode().count('e2e-paging'))", file],
        { encoding: "utf8" },
      ).trim(),
    );
    expect(rows).toBe(0);

    // Signed out, the export sends you to sign in.
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/sign-in$/);
    const anonymous = await page.request.get("/billing/history/export", { maxRedirects: 0 });
    expect(anonymous.status()).toBe(303);
  });
});
