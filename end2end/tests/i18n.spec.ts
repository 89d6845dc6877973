import type { Page } from "@playwright/test";
import { test, expect, cli, hydrated, atGateway, PASSWORD } from "./fixtures";
import { LANGUAGES, BROWSER_LOCALE, t, escaped, type Language } from "./languages";

/** Each language's customer: a Vietnamese account in đồng through VNPay, a Japanese one
 *  in yen through Stripe; dates as each writes them. */
const CUSTOMER = {
  vi: {
    country: "VN", countryName: "Việt Nam", currency: "VND", preset: "500.000 ₫", gateway: "VNPay",
    date: /^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}$/,
    // VNPay answers a cancelled payment with its code 24.
    cancelled: t("vi", "payment_failure.vnpay", { meaning: t("vi", "payment_failure.vnpay_cancelled"), code: "24" }),
  },
  ja: {
    country: "JP", countryName: "日本", currency: "JPY", preset: "¥3,000", gateway: "Stripe",
    date: /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}$/,
    cancelled: t("ja", "payment_failure.cancelled", { gateway: "Stripe" }),
  },
} as const;

type Customer = (typeof CUSTOMER)[keyof typeof CUSTOMER];
type Words = (key: string, vars?: Record<string, string | number>) => string;

/** From the Add credit dialog's amount step: the preset amount, the account's gateway,
 *  the terms, Pay; then `choice` ("Pay" or "Cancel") on the gateway's sandbox page. */
async function payFromAmountStep(page: Page, c: Customer, tr: Words, choice: "Pay" | "Cancel") {
  const dialog = page.getByRole("dialog");
  await dialog.getByText(c.preset, { exact: true }).click();
  await dialog.getByRole("button", { name: tr("go_on"), exact: true }).click();
  await expect(dialog.getByRole("heading", { name: tr("add_credit.method_title"), exact: true })).toBeVisible();
  await expect(dialog.getByRole("radio", { name: new RegExp(c.gateway) })).toBeChecked();
  await dialog.getByRole("button", { name: tr("go_on"), exact: true }).click();
  await expect(dialog.getByRole("heading", { name: tr("add_credit.confirm_title"), exact: true })).toBeVisible();
  await dialog.getByLabel(tr("add_credit.terms")).check();
  await dialog.getByRole("button", { name: tr("add_credit.pay", { amount: c.preset }) }).click();
  // The sandbox's page is the provider's, in English.
  await atGateway(page, c.gateway, c.preset, choice);
}

for (const language of LANGUAGES) {
  test.describe(`${language}: a reader whose browser asks for it`, () => {
    test.use({ locale: BROWSER_LOCALE[language] });
    const c = CUSTOMER[language];
    const tr = (key: string, vars: Record<string, string | number> = {}) => t(language, key, vars);

    test(`signs in, reads the Overview, adds credit and reads the history, all in ${language}`, async ({ page }) => {
      const email = `reader-${language}@example.com`;
      cli("create-user", "--email", email, "--password", PASSWORD, "--country", c.country, "--currency", c.currency);

      // A first visit, no cookie: the page is in the browser's language from the server on.
      await page.goto("/sign-in");
      await hydrated(page);
      await expect(page.locator("html")).toHaveAttribute("lang", language);
      await expect(page).toHaveTitle(new RegExp(tr("sign_in.title")));
      await expect(page.getByText(tr("sign_in.intro"))).toBeVisible();
      // A wrong password is refused in the reader's words.
      await page.getByLabel(tr("sign_in.email"), { exact: true }).fill(email);
      await page.getByLabel(tr("sign_in.password"), { exact: true }).fill("wrong-password");
      await page.getByRole("button", { name: tr("sign_in.submit"), exact: true }).click();
      await expect(page.getByRole("alert")).toHaveText(tr("errors.bad_credentials"));
      await page.getByLabel(tr("sign_in.password"), { exact: true }).fill(PASSWORD);
      await page.getByRole("button", { name: tr("sign_in.submit"), exact: true }).click();

      // Overview.
      await expect(page).toHaveURL(/\/billing$/);
      await hydrated(page);
      await expect(page.getByRole("heading", { name: tr("billing.title"), level: 1 })).toBeVisible();
      const tabs = page.getByRole("navigation", { name: tr("billing.sections") });
      for (const tab of ["tab_overview", "tab_history", "tab_payments", "tab_vouchers", "tab_plans", "tab_settings"]) {
        await expect(tabs.getByRole("link", { name: tr(`billing.${tab}`), exact: true })).toBeVisible();
      }
      const overview = page.getByRole("region", { name: tr("overview.heading") });
      await expect(overview.getByText(tr("overview.top_up"), { exact: true })).toBeVisible();
      // A voucher code with a typo is refused in the reader's words.
      await page.getByLabel(tr("vouchers.code"), { exact: true }).fill("NO-SUCH-CODE");
      await page.getByRole("button", { name: tr("vouchers.apply"), exact: true }).click();
      await expect(page.locator("#voucher-outcome")).toHaveText(tr("problems.code_unknown"));

      // Add credit: amount, method, confirm, pay; the amount keeps its currency's format.
      await page.getByRole("button", { name: tr("add_credit.button"), exact: true }).click();
      const dialog = page.getByRole("dialog");
      // The account was opened without billing details: they come first.
      await expect(dialog.getByRole("heading", { name: tr("add_credit.settings_title"), exact: true })).toBeVisible();
      await expect(dialog.getByText(tr("add_credit.step", { number: 1, of: 4 }))).toBeVisible();
      await dialog.getByRole("button", { name: tr("go_on"), exact: true }).click();
      await expect(dialog.getByLabel(tr("billing_form.full_name"), { exact: true })).toHaveAccessibleDescription(tr("problems.billing_name"));
      await dialog.getByLabel(tr("billing_form.full_name"), { exact: true }).fill(language === "vi" ? "Nguyễn Văn An" : "山田 太郎");
      await dialog.getByLabel(tr("billing_form.address"), { exact: true }).fill(language === "vi" ? "12 Lý Thái Tổ, Hà Nội" : "東京都千代田区丸の内1-1");
      // Countries are named in the reader's language.
      await expect(dialog.getByRole("option", { name: c.countryName, exact: true })).toHaveCount(1);
      await dialog.getByLabel(tr("billing_form.country"), { exact: true }).selectOption(c.country);
      await dialog.getByRole("button", { name: tr("go_on"), exact: true }).click();
      await expect(dialog.getByRole("heading", { name: tr("add_credit.amount_title"), exact: true })).toBeVisible();
      await expect(dialog.getByText(tr("add_credit.step", { number: 2, of: 4 }))).toBeVisible();
      // Too little: the minimum is named in the reader's words.
      await dialog.getByLabel(tr("add_credit.custom_amount", { currency: c.currency })).fill("1");
      await dialog.getByRole("button", { name: tr("go_on"), exact: true }).click();
      await expect(dialog.getByRole("alert")).toContainText(tr("problems.below_minimum", { amount: c.preset }));
      await payFromAmountStep(page, c, tr, "Pay");
      await expect(page.getByRole("heading", { name: tr("payments.success_title") })).toBeVisible();
      await expect(page.locator("html")).toHaveAttribute("lang", language);

      // Credit History: headings, status and dates as the reader writes them.
      await page.goto("/billing/history");
      await hydrated(page);
      await expect(page.getByRole("heading", { name: tr("history.title"), level: 2 })).toBeVisible();
      await expect(page.getByText(tr("history.count", { count: 1 }))).toBeVisible();
      const table = page.getByRole("table", { name: tr("history.table") });
      await expect(table.getByRole("columnheader", { name: tr("history.date"), exact: true })).toBeVisible();
      const row = table.getByRole("row").nth(1);
      await expect(row.getByRole("cell").first()).toHaveText(c.date);
      await expect(row.getByText(tr("labels.success"), { exact: true })).toBeVisible();
      await expect(row.getByRole("cell").last()).toHaveText(`+${c.preset}`);
      // The ledger's own words are the reader's too, around the payment's reference.
      const [before, after] = tr("ledger.top_up", { reference: "\u0000" }).split("\u0000").map(escaped);
      await expect(row.getByRole("cell", { name: new RegExp(`^${before}TU-[A-Z0-9]+${after}$`) })).toBeVisible();

      // Another payment, called off at the gateway: "cancelled", and why, in the reader's
      // words (VNPay says why in its answer, code 24; at Stripe the cancel link says it).
      await page.getByRole("button", { name: tr("add_credit.button"), exact: true }).click();
      await expect(dialog.getByRole("heading", { name: tr("add_credit.amount_title"), exact: true })).toBeVisible();
      await payFromAmountStep(page, c, tr, "Cancel");
      await expect(page.getByRole("heading", { name: tr("payments.cancelled_title") })).toBeVisible();
      await expect(page.getByText(c.cancelled)).toBeVisible();
    });
  });
}

test.describe("the language switcher and the saved preference", () => {
  test.use({ locale: "en-US" });

  test("the sign-in page's switcher turns the page to Japanese and remembers it", async ({ page, context }) => {
    await page.goto("/sign-in");
    await hydrated(page);
    await expect(page.locator("html")).toHaveAttribute("lang", "en");
    await page.getByLabel("Language").selectOption("ja");
    await expect(page.locator("html")).toHaveAttribute("lang", "ja");
    await hydrated(page);
    await expect(page.getByRole("button", { name: t("ja", "sign_in.submit"), exact: true })).toBeVisible();
    expect((await context.cookies()).find((c) => c.name === "lang")?.value).toBe("ja");
    // The cookie outranks the browser's English on the next visit.
    await page.goto("/sign-in");
    await expect(page.locator("html")).toHaveAttribute("lang", "ja");
  });

  test("a signed-in customer's choice is saved: another browser shows it after sign-in", async ({ page, browser }) => {
    const email = "switcher@example.com";
    cli("create-user", "--email", email, "--password", PASSWORD, "--country", "VN", "--currency", "VND");
    await page.goto("/sign-in");
    await hydrated(page);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/billing$/);
    await hydrated(page);
    await page.getByRole("banner").getByLabel("Language").selectOption("vi");
    await expect(page.locator("html")).toHaveAttribute("lang", "vi");
    await hydrated(page);
    await expect(page.getByRole("button", { name: t("vi", "add_credit.button"), exact: true })).toBeVisible();
    // Settings show it as the preference, and the change is logged.
    await page.goto("/billing/settings");
    await hydrated(page);
    const prefs = page.getByRole("region", { name: t("vi", "settings.preferences_heading") });
    await expect(prefs.getByLabel(t("vi", "settings.language"), { exact: true })).toHaveValue("vi");
    // The log's words are the reader's: who, which setting, and the languages by name.
    const change = page.getByRole("table", { name: t("vi", "settings.changes_heading") }).getByRole("row").nth(1);
    await expect(change.getByRole("cell", { name: t("vi", "settings.you"), exact: true })).toBeVisible();
    await expect(change.getByRole("cell", { name: t("vi", "settings.language"), exact: true })).toBeVisible();
    await expect(change.getByRole("cell", { name: "English", exact: true })).toBeVisible();
    await expect(change.getByRole("cell", { name: "Tiếng Việt", exact: true })).toBeVisible();

    // Another browser, English, no cookie: English until sign-in, then the saved language.
    const other = await browser.newContext({ locale: "en-US" });
    const second = await other.newPage();
    await second.goto("/sign-in");
    await expect(second.locator("html")).toHaveAttribute("lang", "en");
    await second.getByLabel("Email").fill(email);
    await second.getByLabel("Password").fill(PASSWORD);
    await second.getByRole("button", { name: "Sign in" }).click();
    await expect(second).toHaveURL(/\/billing$/);
    await expect(second.locator("html")).toHaveAttribute("lang", "vi");
    await expect(second.getByRole("heading", { name: t("vi", "billing.title"), level: 1 })).toBeVisible();
    await other.close();
  });
});
