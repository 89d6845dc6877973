import { test, expect, signIn, hydrated, cli, vnd, API_KEY } from "./fixtures";
import type { Page } from "@playwright/test";

/** A VND customer of one test with `credit` đồng of voucher credits (a code made for it). */
async function customerWithCredit(page: Page, email: string, credit: number) {
  cli("create-user", "--email", email, "--password", "plans-pass", "--country", "VN", "--currency", "VND");
  const code = `PLANS-${Date.now().toString(36).toUpperCase()}`;
  cli("voucher", "create", "--name", "Plans test", "--description", "Credits for plans", "--amount", `VND:${credit}`, "--code", code);
  await signIn(page, email, "plans-pass");
  await expect(page).toHaveURL(/\/billing$/);
  await hydrated(page);
  await page.getByLabel("Voucher code").fill(code);
  await page.getByRole("button", { name: "Apply Code" }).click();
  await expect(page.getByRole("status").filter({ hasText: "added to your voucher credits" })).toBeVisible();
}

const dong = (text: string | null) => Number((text ?? "").replace(/[^\d]/g, ""));
const headerTotal = async (page: Page) =>
  dong(await page.getByRole("link", { name: /^Total balance/ }).getAttribute("aria-label"));

async function openPlans(page: Page) {
  await page.getByRole("link", { name: "Billing Plans" }).click();
  await expect(page).toHaveURL(/\/billing\/plans$/);
  await expect(page.getByRole("heading", { name: "Your plan: Free" }).or(page.getByRole("heading", { name: /^Your plan:/ }))).toBeVisible();
}

const card = (page: Page, name: string) => page.getByRole("list", { name: "Plans" }).getByRole("listitem").filter({ has: page.getByRole("heading", { name, exact: true }) });

test.describe("Billing Plans", () => {
  test("upgrade from the balance after a preview, then schedule a downgrade and undo it", async ({ page, request }) => {
    const email = "plans-up@example.com";
    await customerWithCredit(page, email, 600_000);
    await openPlans(page);
    await expect(card(page, "Free")).toContainText("Current plan");
    await expect(card(page, "Pro")).toContainText(`${vnd("499000")} a month`);
    await expect(card(page, "Business")).toContainText(`${vnd("1990000")} a month`);

    // Business costs more than the balance: the shortfall is named, Add credit starts with it.
    await card(page, "Business").getByRole("button", { name: "Upgrade to Business" }).click();
    const preview = page.getByRole("region", { name: "Upgrade to Business" });
    const short = preview.getByRole("alert");
    await expect(short).toContainText(/Your balance is short by [\d.]+ ₫/);
    await expect(preview.getByRole("button", { name: "Confirm upgrade" })).toBeDisabled();
    const missing = dong((await short.textContent())!.match(/short by ([\d.]+) ₫/)![1]);
    await preview.getByRole("button", { name: /^Add credit / }).click();
    const dialog = page.getByRole("dialog");
    // This customer's first top-up asks for billing details first; then the amount.
    await expect(dialog.getByRole("heading", { name: "Billing settings" })).toBeVisible();
    await dialog.getByLabel("Full name").fill("Lê Thị Hoa");
    await dialog.getByLabel("Address").fill("5 Hai Bà Trưng, Hà Nội");
    await dialog.getByLabel("Country").selectOption({ label: "Vietnam" });
    await dialog.getByRole("button", { name: "Continue" }).click();
    await expect(dialog.getByRole("heading", { name: "Amount" })).toBeVisible();
    await expect(dialog.getByLabel(/Custom amount/)).toHaveValue(String(Math.max(missing, 500_000)));
    await dialog.getByRole("button", { name: "Close" }).click();
    await preview.getByRole("button", { name: "Not now" }).click();
    await expect(preview).toBeHidden();

    // Pro: the preview's amount is what is charged, voucher credits first.
    await card(page, "Pro").getByRole("button", { name: "Upgrade to Pro" }).click();
    const pro = page.getByRole("region", { name: "Upgrade to Pro" });
    await expect(pro.getByText(/^Upgrade Free → Pro, /)).toBeVisible();
    const charged = dong(await pro.getByTestId("upgrade-amount").textContent());
    expect(charged).toBeGreaterThan(0);
    expect(charged).toBeLessThanOrEqual(499_000);
    const before = await headerTotal(page);
    await pro.getByRole("button", { name: "Confirm upgrade" }).dblclick();
    await expect(page.getByRole("status").filter({ hasText: "You are now on the Pro plan." })).toContainText(
      `${vnd(String(charged))} was paid from your balance.`,
    );
    await expect(page.getByRole("heading", { name: "Your plan: Pro" })).toBeVisible();
    await expect(card(page, "Pro")).toContainText("Current plan");
    expect(await headerTotal(page)).toBe(before - charged);

    // One ledger row (a double click charges once), in Credit History under Billing Plans.
    await page.getByRole("link", { name: "Credit History" }).click();
    await page.getByLabel("Balance type").selectOption({ label: "Voucher credits" });
    const rows = page.getByRole("table", { name: "Credit history" }).locator("tbody").getByRole("row").filter({ hasText: "Billing Plans" });
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText(/Upgrade Free → Pro, /);
    await expect(rows.first()).toContainText("Pro");

    // Services read the plan and its limits.
    const accountId = cli("account-id", "--email", email);
    const api = await request.get(`/api/v1/accounts/${accountId}/plan`, { headers: { Authorization: `Bearer ${API_KEY}` } });
    expect(api.status()).toBe(200);
    const body = await api.json();
    expect(body.plan).toBe("pro");
    expect(body.limits.max_gpu_containers).toBe(4);

    // Downgrade: scheduled for the period's end, charges nothing, can be undone.
    await page.getByRole("link", { name: "Billing Plans" }).click();
    await hydrated(page);
    const total = await headerTotal(page);
    await card(page, "Free").getByRole("button", { name: "Downgrade to Free" }).click();
    await expect(page.getByRole("status")).toContainText(/You will move to the Free plan on \d{4}-\d{2}-\d{2}\. Nothing is charged now/);
    await expect(page.getByText(/Your plan is cancelled: you move to the Free plan on/)).toBeVisible();
    await expect(card(page, "Free")).toContainText(/From \d{4}-\d{2}-\d{2}/);
    expect(await headerTotal(page)).toBe(total);
    await page.getByRole("button", { name: "Undo scheduled change" }).click();
    await expect(page.getByRole("status")).toContainText("The scheduled change is undone");
    await expect(page.getByRole("button", { name: "Cancel plan" })).toBeVisible();
  });

  test("an unpaid renewal shows its grace in the tab and the header", async ({ page, request }) => {
    const email = "plans-grace@example.com";
    await customerWithCredit(page, email, 500_000);
    await openPlans(page);
    await card(page, "Pro").getByRole("button", { name: "Upgrade to Pro" }).click();
    await page.getByRole("region", { name: "Upgrade to Pro" }).getByRole("button", { name: "Confirm upgrade" }).click();
    await expect(page.getByRole("heading", { name: "Your plan: Pro" })).toBeVisible();
    const renews = (await page.getByRole("definition").filter({ hasText: /^\d{4}-\d{2}-\d{2}$/ }).first().textContent())!;
    // The renewal job, on a test clock: the day after the renewal date.
    const at = new Date(Date.parse(`${renews}T00:00:00Z`) + 86_400_000).toISOString();
    expect(cli("plan", "renew", "--at", at)).toMatch(/unpaid [1-9]/);
    await page.reload();
    await hydrated(page);
    await expect(page.getByRole("alert")).toContainText(/Your Pro renewal \(499\.000 ₫\) is unpaid: your balance is short by [\d.]+ ₫\. Add credit by/);
    await expect(page.getByRole("link", { name: /^Plan renewal unpaid: add credit by/ })).toBeVisible();
    await expect(page.getByRole("heading", { name: "Your plan: Pro" })).toBeVisible();
    const accountId = cli("account-id", "--email", email);
    const body = await (await request.get(`/api/v1/accounts/${accountId}/plan`, { headers: { Authorization: `Bearer ${API_KEY}` } })).json();
    expect(body.status).toBe("grace");
  });
});

test.describe("Plans in the operator console", () => {
  test("an operator defines a plan, checked beside each field, and customers are offered it in its currency", async ({ page }) => {
    await signIn(page, "admin@example.com");
    await expect(page).toHaveURL(/\/ops$/);
    await hydrated(page);
    await page.getByRole("navigation", { name: "Console sections" }).getByRole("link", { name: "Plans" }).click();
    await expect(page).toHaveURL(/\/ops\/plans$/);
    const table = page.getByRole("table", { name: "Plans" });
    await expect(table.getByRole("row", { name: /Free/ })).toContainText("Default");

    await page.getByLabel("Code (e.g. pro)").fill("Team Plan!");
    await page.getByLabel("Limits services read (one name=value a line)").fill("max_gpu_containers 8");
    await page.getByRole("button", { name: "Save plan" }).click();
    await expect(page.getByRole("alert")).toHaveText("Please correct the fields marked below.");
    await expect(page.getByLabel("Code (e.g. pro)")).toHaveAccessibleDescription(/lowercase letters, digits/);
    await expect(page.getByLabel("Name", { exact: true })).toHaveAccessibleDescription("A plan name has 1 to 60 characters.");
    await expect(page.getByLabel("Limits services read (one name=value a line)")).toHaveAccessibleDescription(/name=value/);
    await expect(page.getByLabel("VND")).toHaveAccessibleDescription("A paid plan needs a price in at least one currency.");

    await page.getByLabel("Code (e.g. pro)").fill("team");
    await page.getByLabel("Name", { exact: true }).fill("Team");
    await page.getByLabel("Display order").fill("3");
    await page.getByLabel("Description the customer sees").fill("For teams of ten");
    await page.getByLabel("Features (one a line)").fill("8 GPU containers\nShared billing");
    await page.getByLabel("Limits services read (one name=value a line)").fill("max_gpu_containers=8\nsupport=email");
    await page.getByLabel("VND").fill("2500000");
    await page.getByRole("button", { name: "Save plan" }).click();
    await expect(page.getByRole("status")).toHaveText("Plan “Team” saved.");
    const team = table.getByRole("row", { name: /Team/ });
    await expect(team).toContainText(vnd("2500000"));
    await expect(team).toContainText('"max_gpu_containers":8');
    await page.getByRole("button", { name: "Sign out" }).click();

    // A VND customer is offered it; a USD one is not (no USD price).
    await signIn(page, "demo@example.com");
    await expect(page).toHaveURL(/\/billing$/);
    await page.goto("/billing/plans");
    await hydrated(page);
    await expect(card(page, "Team")).toContainText(`${vnd("2500000")} a month`);
    await expect(card(page, "Team")).toContainText("Shared billing");
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(page, "second@example.com", "second-password");
    await expect(page).toHaveURL(/\/billing$/);
    await page.goto("/billing/plans");
    await hydrated(page);
    await expect(card(page, "Pro")).toContainText("$19.00 a month");
    await expect(card(page, "Team")).toHaveCount(0);
  });

  test("a customer cannot open the Plans console or call its functions; an operator has no plan tab", async ({ page }) => {
    await signIn(page, "demo@example.com");
    await expect(page).toHaveURL(/\/billing$/);
    const response = await page.goto("/ops/plans");
    expect(response!.status()).toBe(403);
    await hydrated(page);
    for (const [name, form] of [
      ["plan_catalogue", {}],
      [
        "define_plan",
        Object.fromEntries(
          Object.entries({
            code: "evil", name: "Evil", description: "", features: "", limits: "", price_vnd: "1",
            price_jpy: "", price_usd: "", price_eur: "", rank: "0", is_default: "true", active: "true",
          }).map(([k, v]) => [`form[${k}]`, v]),
        ),
      ],
    ] as const) {
      const r = await page.request.post(`/rpc/${name}`, { form, failOnStatusCode: false });
      expect(r.status(), name).toBe(403);
    }
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(page, "admin@example.com");
    await expect(page).toHaveURL(/\/ops$/);
    const plans = await page.request.post("/rpc/plans", { form: {}, failOnStatusCode: false });
    expect(plans.status()).toBe(403);
  });
});
