import { test, expect, cli, hydrated, accessible, PASSWORD } from "./fixtures";
import { LANGUAGES, BROWSER_LOCALE, t, overflowing } from "./languages";

// Runs on the desktop and the phone projects: every customer page, in each language,
// with no control cut off, no sideways scroll, and no serious or critical axe finding. Vietnamese writes the longest labels.
for (const language of LANGUAGES) {
  test.describe(`${language} layout`, () => {
    test.use({ locale: BROWSER_LOCALE[language] });

    test(`every customer page fits this screen in ${language}`, async ({ page }, info) => {
      const email = `layout-${language}-${info.project.name}@example.com`;
      const [country, currency] = language === "vi" ? ["VN", "VND"] : ["JP", "JPY"];
      cli("create-user", "--email", email, "--password", PASSWORD, "--country", country, "--currency", currency);
      await page.goto("/sign-in");
      await hydrated(page);
      expect(await overflowing(page), "sign-in").toEqual([]);
      await accessible(page, `${language} sign-in`);
      await page.getByLabel(t(language, "sign_in.email"), { exact: true }).fill(email);
      await page.getByLabel(t(language, "sign_in.password"), { exact: true }).fill(PASSWORD);
      await page.getByRole("button", { name: t(language, "sign_in.submit"), exact: true }).click();
      await expect(page).toHaveURL(/\/billing$/);
      await hydrated(page);
      // A voucher gives the history and the Voucher List a row to lay out.
      await page.getByLabel(t(language, "vouchers.code"), { exact: true }).fill("WELCOME-VND");
      await page.getByRole("button", { name: t(language, "vouchers.apply"), exact: true }).click();
      await expect(page.locator("#voucher-outcome")).toHaveClass(/form-success/);
      expect(await overflowing(page), "overview").toEqual([]);

      for (const path of ["/billing/history?balance=voucher", "/billing/payments", "/billing/vouchers", "/billing/plans", "/billing/settings"]) {
        await page.goto(path);
        await hydrated(page);
        await expect(page.locator("html")).toHaveAttribute("lang", language);
        await expect(page.locator("main h2").first()).toBeVisible();
        expect(await overflowing(page), path).toEqual([]);
        await accessible(page, `${language} ${path}`);
      }

      // The Add credit dialog's longest step: Confirm, with the terms and the Pay button.
      await page.goto("/billing");
      await hydrated(page);
      await page.getByRole("button", { name: t(language, "add_credit.button"), exact: true }).click();
      const dialog = page.getByRole("dialog");
      await expect(dialog.getByRole("heading", { name: t(language, "add_credit.settings_title"), exact: true })).toBeVisible();
      // Every field's message shown at once: the step at its longest.
      await dialog.getByRole("button", { name: t(language, "go_on"), exact: true }).click();
      await expect(dialog.getByText(t(language, "problems.billing_address"))).toBeVisible();
      expect(await overflowing(page), "add credit: settings").toEqual([]);
      await dialog.getByLabel(t(language, "billing_form.full_name"), { exact: true }).fill("Nguyễn Thị Minh Khai");
      await dialog.getByLabel(t(language, "billing_form.address"), { exact: true }).fill("1 Example Street, Example City");
      await dialog.getByLabel(t(language, "billing_form.country"), { exact: true }).selectOption(country);
      await dialog.getByRole("button", { name: t(language, "go_on"), exact: true }).click();
      await expect(dialog.getByRole("heading", { name: t(language, "add_credit.amount_title"), exact: true })).toBeVisible();
      expect(await overflowing(page), "add credit: amount").toEqual([]);
      await dialog.getByRole("radio").first().check();
      await dialog.getByRole("button", { name: t(language, "go_on"), exact: true }).click();
      await dialog.getByRole("button", { name: t(language, "go_on"), exact: true }).click();
      await expect(dialog.getByRole("heading", { name: t(language, "add_credit.confirm_title"), exact: true })).toBeVisible();
      expect(await overflowing(page), "add credit: confirm").toEqual([]);
      await dialog.getByRole("button", { name: /^Pay|^Thanh toán|を支払う$/ }).scrollIntoViewIfNeeded();
      await expect(dialog.getByRole("button", { name: /^Thanh toán|を支払う$/ })).toBeInViewport();
    });
  });
}
