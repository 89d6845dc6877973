import { test, expect, signIn, hydrated, cli } from "./fixtures";

test.describe("Settings", () => {
  test("billing details and tax are checked beside each field, saved, and logged; preferences change the dates at once", async ({ page }) => {
    const email = "settings@example.com";
    cli("create-user", "--email", email, "--password", "settings-pass");
    await signIn(page, email, "settings-pass");
    await expect(page).toHaveURL(/\/billing$/);
    await hydrated(page);
    // The first billing details come with Add credit, as for every new customer.
    await page.getByRole("button", { name: "Add credit" }).click();
    const d = page.getByRole("dialog");
    await d.getByLabel("Company").check();
    await d.getByLabel("Company name").fill("Công ty Mây Xanh");
    await d.getByLabel("Address").fill("1 Nguyễn Huệ, Quận 1, TP. Hồ Chí Minh");
    await d.getByLabel("Country").selectOption({ label: "Vietnam" });
    await d.getByLabel("Tax code").fill("0312345678");
    await d.getByRole("button", { name: "Continue" }).click();
    await expect(d.getByRole("heading", { name: "Amount" })).toBeVisible();
    await d.getByRole("button", { name: "Close" }).click();

    await page.getByRole("link", { name: "Settings" }).click();
    await expect(page).toHaveURL(/\/billing\/settings$/);
    await hydrated(page);
    const billing = page.getByRole("region", { name: "Billing information and tax" });
    await expect(billing.getByLabel("Company name")).toHaveValue("Công ty Mây Xanh");
    // The currency is shown, fixed, with the reason.
    await expect(billing.getByLabel("Currency")).toBeDisabled();
    await expect(billing.getByText(/Fixed: your credits, prices and history are all in VND/)).toBeVisible();

    // A Vietnamese tax code has 10 digits or 10-3: checked before anything is sent.
    await billing.getByLabel("Tax code").fill("12345");
    await billing.getByRole("button", { name: "Save billing information" }).click();
    await expect(billing.getByLabel("Tax code")).toHaveAccessibleDescription(/10 digits/);
    await billing.getByLabel("Tax code").fill("0312345678-001");
    await billing.getByRole("button", { name: "Save billing information" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Billing information saved." })).toBeVisible();
    const log = page.getByRole("table", { name: "Recent changes" });
    // Newest first: the change just made, from the first value to the new one.
    await expect(log.locator("tbody").getByRole("row").first()).toContainText("Tax code0312345678");
    await expect(log.locator("tbody").getByRole("row").first()).toContainText("0312345678-001");
    await expect(page.getByTestId("settings-last-changed")).toHaveText(/^Last changed \d{4}-\d{2}-\d{2} \d{2}:\d{2}\.$/);

    // Preferences: Tokyo time, day/month/year; dates follow at once. (The language has
    // its own test: i18n.spec.ts.)
    const prefs = page.getByRole("region", { name: "Display preferences" });
    // The first billing country (Vietnam) set the time zone from its default, UTC.
    await expect(prefs.getByLabel("Time zone")).toHaveValue("Asia/Ho_Chi_Minh");
    await prefs.getByLabel("Time zone").selectOption("Asia/Tokyo");
    await prefs.getByLabel("Date format").selectOption({ label: "25/11/2026 (day/month/year)" });
    await prefs.getByRole("button", { name: "Save preferences" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Preferences saved." })).toBeVisible();
    await expect(log.getByRole("row").filter({ hasText: "Asia/Tokyo" })).toContainText("Time zoneAsia/Ho_Chi_Minh");
    await expect(page.getByTestId("settings-last-changed")).toHaveText(/^Last changed \d{2}\/\d{2}\/\d{4} \d{2}:\d{2}\.$/);
    await page.reload();
    await hydrated(page);
    await expect(prefs.getByLabel("Time zone")).toHaveValue("Asia/Tokyo");
    await expect(prefs.getByLabel("Language")).toHaveValue("en");
  });
});
