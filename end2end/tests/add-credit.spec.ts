import {
  test, expect, signIn, hydrated, cli, vnd, NEW, PASSWORD, dialog, openAddCredit, fillSettings, payThrough, atGateway,
} from "./fixtures";
import type { Page } from "@playwright/test";

/** The header's total balance, as its link names it. */
const balanceLink = (page: Page) => page.getByRole("link", { name: /^Total balance/ });
const headerBalance = async (page: Page) =>
  ((await balanceLink(page).getAttribute("aria-label")) ?? "").replace("Total balance ", "");

/** Signs in and waits for the billing page to be live. */
async function signedIn(page: Page, email: string) {
  await signIn(page, email);
  await expect(page).toHaveURL(/\/billing$/);
  await hydrated(page);
  // The Overview's own piece of the bundle has arrived once its heading shows.
  await expect(page.getByRole("heading", { name: "Overview", exact: true })).toBeVisible();
}

/** Rows of the Payment History table. */
async function paymentRows(page: Page) {
  await page.goto("/billing/payments");
  await hydrated(page);
  const table = page.getByRole("table", { name: "Payment history" });
  await expect(table.or(page.getByText("No payments yet."))).toBeVisible();
  if (!(await table.isVisible())) return 0;
  return table.locator("tbody").getByRole("row").count();
}

/** A VND customer of these tests (the demo customer's history is other tests' fixture). */
const DONG = "dong@example.com";

test.describe("Add credit", () => {
  // In order: the VND customer's first top-up saves the settings the later tests skip.
  test.describe.configure({ mode: "serial" });

  test.beforeAll(() => {
    // A VND account opened before, without billing settings yet.
    cli("create-user", "--email", DONG, "--password", PASSWORD, "--country", "VN", "--currency", "VND");
  });

  test("a new customer sets billing settings and pays in USD through PayPal", async ({ page }) => {
    await signedIn(page, NEW);
    await expect(page.getByRole("link", { name: "No billing profile yet" })).toBeVisible();
    await openAddCredit(page);
    await fillSettings(page, { name: "Ada Lovelace", country: "United States", currency: "USD" });
    await payThrough(page, { preset: "$25.00", method: "PayPal", pay: "Pay $25.00" });
    await atGateway(page, "PayPal", "$25.00", "Pay");
    await expect(page.getByRole("heading", { name: "Payment successful" })).toBeVisible();
    await expect(page.getByText("$25.00 was added to your credits. Your balance is now $25.00.")).toBeVisible();
    await hydrated(page);
    expect(await headerBalance(page)).toBe("$25.00");

    // The second top-up skips the settings, and the currency is fixed.
    await openAddCredit(page);
    await expect(dialog(page).getByRole("heading", { name: "Amount" })).toBeVisible();
    await expect(dialog(page).getByText("Step 1 of 3")).toBeVisible();
  });

  test("billing settings are checked field by field, in the browser and on the server", async ({ page }) => {
    cli("create-user", "--email", "company@example.com", "--password", PASSWORD);
    await signedIn(page, "company@example.com");
    await openAddCredit(page);
    const d = dialog(page);
    await d.getByLabel("Company").check();
    await d.getByLabel("Company name").fill("A");
    await d.getByLabel("Billing email").fill("not-an-email");
    await d.getByRole("button", { name: "Continue" }).click();
    await expect(d.getByText("Please correct the fields marked below.")).toBeVisible();
    // Each message is beside its field and describes it.
    await expect(d.getByLabel("Company name")).toHaveAccessibleDescription("Enter the name to bill (2 to 200 characters).");
    await expect(d.getByLabel("Billing email")).toHaveAccessibleDescription(/Enter a valid email address/);
    await expect(d.getByLabel("Tax code")).toHaveAccessibleDescription("A company needs its tax code.");
    await expect(d.getByLabel("Country")).toHaveAccessibleDescription("Choose a country.");
    await expect(d.getByRole("heading", { name: "Billing settings" })).toBeVisible();
    // The server checks the same rules whatever the browser sends.
    const origin = new URL(page.url()).origin;
    const refused = await page.request.post("/rpc/save_billing_settings", {
      form: {
        "form[billing_type]": "company", "form[name]": "Acme GmbH", "form[email]": "billing@acme.test",
        "form[address]": "Hauptstraße 1, Berlin", "form[country]": "DE", "form[currency]": "VND", "form[tax_code]": "",
      },
      headers: { Origin: origin },
    });
    expect(refused.ok()).toBe(false);
    const body = await refused.text();
    // Each problem arrives worded in the reader's language (English here), as the page
    // shows it.
    expect(JSON.parse(body)).toEqual({
      Fields: [
        { field: "currency", problem: "Billing in Germany is in USD or EUR." },
        { field: "tax_code", problem: "A company needs its tax code." },
      ],
    });
    // Corrected, it saves and goes on to the amount.
    await d.getByLabel("Company name").fill("Acme GmbH");
    await d.getByLabel("Billing email").fill("billing@acme.test");
    await d.getByLabel("Address").fill("Hauptstraße 1, Berlin");
    await d.getByLabel("Country").selectOption({ label: "Germany" });
    await d.getByLabel("Currency").selectOption("EUR");
    await d.getByLabel("Tax code").fill("DE123456789");
    await d.getByRole("button", { name: "Continue" }).click();
    await expect(d.getByRole("heading", { name: "Amount" })).toBeVisible();
    await expect(d.getByText("Minimum 25,00 €")).toBeVisible();
  });

  for (const c of [
    { email: "yen@example.com", country: "Japan", currency: undefined, preset: "¥3,000", method: "Stripe", provider: "Stripe", after: "¥3,000" },
    { email: "euro@example.com", country: "Germany", currency: "EUR", custom: "50", method: "PayPal", provider: "PayPal", after: "50,00 €" },
  ]) {
    test(`a new customer in ${c.country} pays ${c.after} through ${c.provider}`, async ({ page }) => {
      cli("create-user", "--email", c.email, "--password", PASSWORD);
      await signedIn(page, c.email);
      await openAddCredit(page);
      await fillSettings(page, { name: "Test Customer", country: c.country, currency: c.currency });
      await payThrough(page, { preset: c.preset, custom: c.custom, method: c.method, pay: `Pay ${c.after}` });
      await atGateway(page, c.provider, c.after, "Pay");
      await expect(page.getByRole("heading", { name: "Payment successful" })).toBeVisible();
      await hydrated(page);
      expect(await headerBalance(page)).toBe(c.after);
    });
  }

  test("a VND account pays through VNPay and the balance rises by exactly the amount", async ({ page, request }) => {
    await signedIn(page, DONG);
    const before = await headerBalance(page);
    const beforeDong = Number(before.replace(/[^\d]/g, ""));
    await openAddCredit(page);
    // The account's currency is already VND: settings show it fixed.
    await expect(dialog(page).getByLabel("Currency")).toBeDisabled();
    await fillSettings(page, { name: "Trần Thị Bình", country: "Vietnam" });
    await payThrough(page, { preset: vnd("1000000"), method: "VNPay", pay: `Pay ${vnd("1000000")}` });
    await atGateway(page, "VNPay", vnd("1000000"), "Pay");
    await expect(page.getByRole("heading", { name: "Payment successful" })).toBeVisible();
    await hydrated(page);
    expect(await headerBalance(page)).toBe(vnd(String(beforeDong + 1_000_000)));

    // Replayed, duplicated, forged, stale and contradicting callbacks change nothing.
    const reference = page.url().split("/").pop()!;
    for (const action of ["replay", "twice", "bad-signature", "late", "out-of-order"]) {
      const r = await request.post(`/sandbox/control/${reference}/${action}`);
      expect(r.status()).toBe(200);
      const { deliveries } = await r.json();
      for (const d of deliveries) {
        expect(d.body).toMatch(action === "bad-signature" ? /"RspCode":"97"/ : /"RspCode":"02"/);
      }
    }
    await page.reload();
    await hydrated(page);
    expect(await headerBalance(page)).toBe(vnd(String(beforeDong + 1_000_000)));

    // Payment History and Credit History both show it as Success.
    await page.getByRole("link", { name: "View Payment History" }).click();
    const row = page.getByRole("row", { name: new RegExp(reference) });
    await expect(row).toContainText("Success");
    await expect(row).toContainText("VNPay");
    await expect(row).toContainText(vnd("1000000"));
    await page.goto("/billing/history");
    await expect(page.getByRole("row", { name: new RegExp(reference) })).toContainText("Success");
  });

  test("a slow callback: the outcome page shows Pending, then Success by itself", async ({ page, request }) => {
    await signedIn(page, DONG);
    const beforeDong = Number((await headerBalance(page)).replace(/[^\d]/g, ""));
    await openAddCredit(page);
    await payThrough(page, { custom: "600000", method: "VNPay", pay: `Pay ${vnd("600000")}` });
    expect((await request.post("/sandbox/control/next/hold-next")).status()).toBe(200);
    await atGateway(page, "VNPay", vnd("600000"), "Pay");
    await expect(page.getByRole("heading", { name: "Payment pending" })).toBeVisible();
    await hydrated(page);
    const reference = page.url().split("/").pop()!;
    // Meanwhile Credit History (in another tab) shows the top-up as Processed.
    const other = await page.context().newPage();
    await other.goto("/billing/history");
    await expect(other.getByRole("row", { name: new RegExp(reference) })).toContainText("Processed");
    await other.close();
    expect((await request.post(`/sandbox/control/${reference}/replay`)).status()).toBe(200);
    await expect(page.getByRole("heading", { name: "Payment successful" })).toBeVisible();
    await expect(balanceLink(page)).toHaveAttribute("aria-label", `Total balance ${vnd(String(beforeDong + 600_000))}`);
  });

  test("cancelling at the gateway fails the payment and leaves the balance alone", async ({ page }) => {
    await signedIn(page, DONG);
    const before = await headerBalance(page);
    await openAddCredit(page);
    await payThrough(page, { preset: vnd("2000000"), method: "VNPay", pay: `Pay ${vnd("2000000")}` });
    await atGateway(page, "VNPay", vnd("2000000"), "Cancel");
    await expect(page.getByRole("heading", { name: "Payment cancelled" })).toBeVisible();
    await expect(page.getByText("no credit was added")).toBeVisible();
    await expect(page.getByText("VNPay: cancelled by the customer (code 24)")).toBeVisible();
    await hydrated(page);
    expect(await headerBalance(page)).toBe(before);
    const reference = page.url().split("/").pop()!;
    await page.getByRole("link", { name: "View Payment History" }).click();
    await expect(page.getByRole("row", { name: new RegExp(reference) })).toContainText("Failed");
    await page.goto("/billing/history");
    await expect(page.getByRole("row", { name: new RegExp(reference) })).toContainText("Failed");
  });

  test("an amount below the minimum is refused in the browser and on the server", async ({ page }) => {
    await signedIn(page, DONG);
    const rows = await paymentRows(page);
    await openAddCredit(page);
    const d = dialog(page);
    await d.getByLabel(/Custom amount/).fill("499999");
    await d.getByRole("button", { name: "Continue" }).click();
    await expect(d.getByText(`The minimum top-up is ${vnd("500000")}.`)).toBeVisible();
    await expect(d.getByRole("heading", { name: "Amount" })).toBeVisible();
    // The server refuses it too, whatever the browser lets through.
    const response = await page.request.post("/rpc/start_top_up", {
      form: { amount: "499999", client_token: "below-minimum", consent: "non-refundable-2026-11" },
      headers: { Origin: new URL(page.url()).origin },
    });
    expect(response.status()).toBe(422);
    expect(JSON.parse(await response.text())).toEqual({
      Invalid: { field: "amount", problem: `The minimum top-up is ${vnd("500000")}.` },
    });
    expect(await paymentRows(page)).toBe(rows);
  });

  test("the dialog works with the keyboard alone", async ({ page }) => {
    await signedIn(page, DONG);
    const opener = page.getByRole("button", { name: "Add credit" });
    await opener.focus();
    await page.keyboard.press("Enter");
    const d = dialog(page);
    await expect(d.getByRole("heading", { name: "Amount" })).toBeFocused();
    // Focus stays inside however far one tabs, both ways.
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press("Tab");
      expect(await d.evaluate((el) => el.contains(document.activeElement))).toBe(true);
    }
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press("Shift+Tab");
      expect(await d.evaluate((el) => el.contains(document.activeElement))).toBe(true);
    }
    // Escape closes it and focus returns to the button.
    await page.keyboard.press("Escape");
    await expect(d).toBeHidden();
    await expect(opener).toBeFocused();

    // Reopen, type an amount, go on and come Back: what was typed is still there.
    await page.keyboard.press("Enter");
    await expect(d.getByRole("heading", { name: "Amount" })).toBeFocused();
    await d.getByLabel(/Custom amount/).focus();
    await page.keyboard.type("750000");
    await page.keyboard.press("Enter");
    await expect(d.getByRole("heading", { name: "Payment method" })).toBeFocused();
    await d.getByRole("button", { name: "Back" }).focus();
    await page.keyboard.press("Enter");
    await expect(d.getByLabel(/Custom amount/)).toHaveValue("750000");
    // The close button closes it too.
    await d.getByRole("button", { name: "Close" }).focus();
    await page.keyboard.press("Enter");
    await expect(d).toBeHidden();
  });
});
