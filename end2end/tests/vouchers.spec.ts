import { test, expect, signIn, hydrated, cli, vnd, DEMO, SECOND } from "./fixtures";
import { readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Page } from "@playwright/test";

/** A UTC day `days` from today, as the CLI takes it. */
function day(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** A customer with a VND account, made for one test (the database is fresh per run). */
function customer(email: string): string {
  cli("create-user", "--email", email, "--password", "voucher-pass", "--country", "VN", "--currency", "VND");
  return email;
}

async function openOverview(page: Page, email: string, password?: string) {
  await signIn(page, email, password);
  await expect(page).toHaveURL(/\/billing$/);
  await hydrated(page);
}

/** Types a code and presses Apply Code; returns the message shown. */
async function apply(page: Page, code: string) {
  await page.getByLabel("Voucher code").fill(code);
  await page.getByRole("button", { name: "Apply Code" }).click();
  const outcome = page.locator("#voucher-outcome");
  await expect(outcome).not.toBeEmpty();
  await expect(page.getByRole("button", { name: "Apply Code" })).toBeEnabled();
  return outcome;
}

const dong = (text: string | null) => Number((text ?? "").replace(/[^\d]/g, ""));

test.describe("Vouchers", () => {
  test("the demo code adds exactly its amount, at once, and shows in the Voucher List and Credit History", async ({ page }) => {
    await openOverview(page, DEMO);
    const overview = page.getByRole("region", { name: "Overview" });
    const voucherCard = overview.getByRole("definition").nth(2);
    const totalCard = overview.getByRole("definition").nth(0);
    const header = page.getByRole("link", { name: /^Total balance/ });
    const voucherBefore = dong(await voucherCard.textContent());
    const totalBefore = dong(await totalCard.textContent());

    // Keyboard only: focus the field, type with odd case and spaces, press Enter.
    await page.getByLabel("Voucher code").focus();
    await page.keyboard.type(" welcome vnd ");
    await page.keyboard.press("Enter");
    const status = page.getByRole("status").filter({ hasText: "added to your voucher credits" });
    await expect(status).toHaveText(/^500\.000 ₫ added to your voucher credits\. They expire on \d{4}-\d{2}-\d{2} \d{2}:\d{2}\.$/);
    await expect(voucherCard).toHaveText(vnd(String(voucherBefore + 500_000)));
    await expect(totalCard).toHaveText(vnd(String(totalBefore + 500_000)));
    await expect(header).toHaveAttribute("aria-label", `Total balance ${vnd(String(totalBefore + 500_000))}`);
    await expect(page.getByLabel("Voucher code")).toHaveValue("");

    await page.getByRole("link", { name: "Voucher List" }).click();
    await expect(page).toHaveURL(/\/billing\/vouchers$/);
    const vouchers = page.getByRole("table", { name: "Vouchers" });
    // Active ones first: no Active row after one that is not.
    const states = await vouchers.locator("tbody").getByRole("row").evaluateAll((rows) =>
      rows.map((r) => (r.textContent ?? "").includes("Active")),
    );
    expect(states.indexOf(false) === -1 || states.slice(states.indexOf(false)).every((a) => !a)).toBe(true);
    const first = vouchers.locator("tbody").getByRole("row").filter({ hasText: "WELCOME-VND" });
    await expect(first).toContainText("Active");
    await expect(first).toContainText("Welcome credits for new customers");
    await expect(first.getByRole("cell").nth(3)).toHaveText(vnd("500000"));
    await expect(first.getByRole("cell").nth(8)).toHaveText(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
    // Expired vouchers come after the active ones, with what they lost.
    const last = vouchers.locator("tbody").getByRole("row").last();
    await expect(last).toContainText("LAUNCH100K");
    await expect(last).toContainText("Expired");
    await expect(vouchers.locator("tfoot")).toContainText("Total");

    await page.getByRole("link", { name: "Credit History" }).click();
    await page.getByLabel("Balance type").selectOption({ label: "Voucher credits" });
    const grant = page.getByRole("table", { name: "Credit history" }).locator("tbody").getByRole("row").first();
    await expect(grant).toContainText("WELCOME-VND");
    await expect(grant).toContainText("System");
    await expect(grant).toContainText("Voucher");
    await expect(grant).toContainText("Success");
    await expect(grant).toContainText(`+${vnd("500000")}`);

    // Applying it again is refused and changes nothing.
    await page.getByRole("link", { name: "Overview" }).click();
    await hydrated(page);
    const again = await apply(page, "WELCOME-VND");
    await expect(again).toHaveText("You have already redeemed this voucher code.");
    await expect(totalCard).toHaveText(vnd(String(totalBefore + 500_000)));
  });

  test("every refusal says why, and a typo is caught before it counts", async ({ page }) => {
    cli("voucher", "create", "--name", "Soon", "--description", "Not yet", "--amount", "VND:10000", "--code", "SOON-2027", "--valid-from", day(3));
    cli("voucher", "create", "--name", "Past", "--description", "Over", "--amount", "VND:10000", "--code", "PAST-2025", "--valid-until", day(-2));
    cli("voucher", "create", "--name", "Only one", "--description", "Capped", "--amount", "VND:10000", "--code", "ONLY-ONE", "--max-redemptions", "1");
    const off = cli("voucher", "create", "--name", "Off", "--description", "Disabled", "--amount", "VND:10000", "--code", "SWITCHED-OFF");
    cli("voucher", "disable", "--id", off.match(/campaign (\d+)/)![1]);
    const dir = mkdtempSync(path.join(tmpdir(), "codes-"));
    cli("voucher", "create", "--name", "Typo batch", "--description", "Batch", "--amount", "VND:10000", "--count", "1", "--out", path.join(dir, "codes.csv"));
    const [code] = readFileSync(path.join(dir, "codes.csv"), "utf8").trim().split("\n").slice(1);

    const first = customer("first-voucher@example.com");
    await openOverview(page, first, "voucher-pass");
    await expect(await apply(page, "only-one")).toHaveText(/^10\.000 ₫ added to your voucher credits\. They do not expire\.$/);
    await page.getByRole("button", { name: "Sign out" }).click();

    const someone = customer("refused-voucher@example.com");
    await openOverview(page, someone, "voucher-pass");
    const before = await page.getByRole("region", { name: "Overview" }).textContent();
    const cases: [string, string | RegExp][] = [
      ["NOSUCHCODE", "This voucher code does not exist. Check it and try again."],
      ["", "Enter a voucher code."],
      // A wrong check symbol: the last character changed.
      [code.slice(0, -1) + (code.endsWith("A") ? "B" : "A"), "This code has a typo: check each character and try again."],
      ["soon 2027", /^This voucher code is not valid yet\. It can be used from \d{4}-\d{2}-\d{2} 00:00\.$/],
      ["past-2025", "This voucher code is no longer valid."],
      ["ONLY-ONE", "This voucher code has been fully redeemed."],
      ["switched-off", "This voucher code has been disabled."],
    ];
    for (const [typed, message] of cases) {
      const outcome = await apply(page, typed);
      await expect(outcome).toHaveText(message);
      await expect(page.getByLabel("Voucher code")).toHaveAttribute("aria-invalid", "true");
    }
    await expect(page.getByRole("region", { name: "Overview" })).toHaveText(before ?? "");
    // A customer's mistake is a 4xx, with the same words.
    const refused = await page.request.post("/rpc/redeem_voucher", { form: { code: "past-2025" }, failOnStatusCode: false });
    expect(refused.status()).toBe(422);
    expect(JSON.parse(await refused.text())).toEqual({ Invalid: { field: "code", problem: "This voucher code is no longer valid." } });
    await page.getByRole("button", { name: "Sign out" }).click();

    // An account in another currency, and a customer with no account yet.
    await openOverview(page, SECOND, "second-password");
    await expect(await apply(page, "SPRING200K")).toHaveText("This voucher code is not available for accounts in USD.");
    await page.getByRole("button", { name: "Sign out" }).click();
    cli("create-user", "--email", "no-account@example.com", "--password", "voucher-pass");
    await openOverview(page, "no-account@example.com", "voucher-pass");
    await expect(await apply(page, "WELCOME-VND")).toHaveText(
      "You need a billing profile before you can redeem a voucher. Choose Add credit to set your billing details and currency, then apply the code.",
    );
  });

  test("too many failed attempts are refused for a while, even with a good code", async ({ page }) => {
    const guesser = customer("guesser@example.com");
    await openOverview(page, guesser, "voucher-pass");
    for (let i = 0; i < 10; i++) {
      await expect(await apply(page, `GUESS${i}X`)).toHaveText("This voucher code does not exist. Check it and try again.");
    }
    await expect(await apply(page, "WELCOME-VND")).toHaveText("Too many attempts, try again in 15 minutes.");
    const response = await page.request.post("/rpc/redeem_voucher", { form: { code: "WELCOME-VND" }, failOnStatusCode: false });
    expect(response.status()).toBe(429);
  });

  test("an operator creates a batch, downloads its codes once, and a customer redeems one", async ({ page }) => {
    await signIn(page, "admin@example.com");
    await expect(page).toHaveURL(/\/ops$/);
    await page.goto("/ops/vouchers");
    await hydrated(page);
    await expect(page.getByRole("heading", { name: "Operator console" })).toBeVisible();

    // Validation beside each field, nothing created.
    await page.getByRole("button", { name: "Create campaign" }).click();
    await expect(page.getByRole("alert")).toHaveText("Please correct the fields marked below.");
    await expect(page.locator("#campaign-name-error")).toHaveText("Enter a name of 1 to 100 characters.");
    await expect(page.getByLabel("Name", { exact: true })).toHaveAttribute("aria-invalid", "true");
    await expect(page.locator("#campaign-code-error")).toHaveText("A shared code has 4 to 16 letters and digits (dashes allowed).");

    await page.getByLabel("Name", { exact: true }).fill("Partner batch");
    await page.getByLabel("Description the customer sees").fill("Credits from our partner event");
    await page.getByLabel("VND", { exact: true }).fill("250000");
    await page.getByLabel("A batch of single-use codes").check();
    await page.getByLabel(/How many codes/).fill("3");
    await page.getByLabel("A number of days after redemption").check();
    await page.getByLabel("Days after redemption", { exact: true }).fill("60");
    await page.getByRole("button", { name: "Create campaign" }).click();
    await expect(page.getByRole("status")).toContainText("Campaign “Partner batch” created.");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Download codes (CSV)" }).click(),
    ]);
    const lines = readFileSync(await download.path(), "utf8").trim().split("\n");
    expect(lines[0]).toBe("code");
    const codes = lines.slice(1);
    expect(codes).toHaveLength(3);
    for (const c of codes) expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}-[0-9A-HJKMNP-TV-Z]$/);
    const row = page.getByRole("table", { name: "Campaigns" }).getByRole("row", { name: /Partner batch/ });
    await expect(row).toContainText("3 single-use codes");
    await expect(row).toContainText("0 / no cap");
    // The codes are not shown again.
    await page.reload();
    await hydrated(page);
    await expect(page.getByRole("link", { name: "Download codes (CSV)" })).toHaveCount(0);
    await page.getByRole("button", { name: "Sign out" }).click();

    // Typed in lower case without dashes, with look-alikes: I and L for 1, O for 0.
    const typed = codes[0].replace(/-/g, "").toLowerCase().replace(/1/g, "l").replace(/0/g, "o");
    const redeemer = customer("batch-redeemer@example.com");
    await openOverview(page, redeemer, "voucher-pass");
    await expect(await apply(page, typed)).toHaveText(/^250\.000 ₫ added to your voucher credits\. They expire on /);
    await page.getByRole("link", { name: "Voucher List" }).click();
    await expect(page.getByRole("table", { name: "Vouchers" })).toContainText(codes[0]);
    await expect(page.getByRole("table", { name: "Vouchers" })).toContainText("Partner batch");
    await page.getByRole("button", { name: "Sign out" }).click();

    await signIn(page, "admin@example.com");
    await expect(page).toHaveURL(/\/ops$/);
    await page.goto("/ops/vouchers");
    await hydrated(page);
    const after = page.getByRole("table", { name: "Campaigns" }).getByRole("row", { name: /Partner batch/ });
    await expect(after).toContainText("1 / no cap");
    await expect(after).toContainText(`${vnd("250000")} · 0 ₫ · 0 ₫ · ${vnd("250000")}`);
    await after.getByRole("button", { name: "Disable Partner batch" }).click();
    await expect(after).toContainText("Disabled");
  });

  test("a customer cannot open the operator pages or call their functions", async ({ page }) => {
    await openOverview(page, DEMO);
    const response = await page.goto("/ops/vouchers");
    expect(response!.status()).toBe(403);
    await hydrated(page);
    await expect(page.getByRole("alert")).toHaveText("You do not have access to this.");
    await expect(page.getByRole("button", { name: "Create campaign" })).toHaveCount(0);
    const list = await page.request.post("/rpc/voucher_campaigns", { form: {}, failOnStatusCode: false });
    expect(list.status()).toBe(403);
    const disable = await page.request.post("/rpc/disable_voucher_campaign", { form: { id: "1" }, failOnStatusCode: false });
    expect(disable.status()).toBe(403);
  });
});
