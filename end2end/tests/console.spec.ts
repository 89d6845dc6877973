import {
  test, expect, signIn, hydrated, cli, vnd, PASSWORD, DEMO, API_KEY, openAddCredit, fillSettings, payThrough, atGateway,
} from "./fixtures";
import type { Page } from "@playwright/test";

// The demo's operators: every capability; view and approve; view only.
const ADMIN = "admin@example.com";
const FINANCE = "finance@example.com";
const SUPPORT = "support@example.com";

function sections(page: Page) {
  return page.getByRole("navigation", { name: "Console sections" });
}

async function signOut(page: Page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
}

/** Every operator server function, with arguments it would accept. */
function operatorCalls(accountId: string): [string, Record<string, string>][] {
  const form = (prefix: string, fields: Record<string, string>) =>
    Object.fromEntries(Object.entries(fields).map(([k, v]) => [`${prefix}[${k}]`, v]));
  return [
    ["search_accounts", { query: DEMO }],
    ["account_view", { account_id: accountId }],
    ["account_credit_history", { account_id: accountId, query: "" }],
    ["account_credit_history_count", { account_id: accountId, query: "" }],
    ["account_payment_history", { account_id: accountId, query: "" }],
    ["audit_log", form("filter", { account_id: "", action: "", actor: "" })],
    ["audit_actions", {}],
    [
      "submit_adjustment",
      form("form", {
        account_id: accountId, bucket: "top_up", direction: "credit", amount: "1000", reason: "goodwill",
        comment: "capability check only", description: "Check", token: "x".repeat(32),
      }),
    ],
    ["decide_adjustment", { id: "999999", decision: "Approve" }],
    ["pending_adjustments", {}],
    ["voucher_campaigns", {}],
    ["disable_voucher_campaign", { id: "999999" }],
    ["plan_catalogue", {}],
    ["api_keys", {}],
    ["revoke_api_key", { id: "999999" }],
  ];
}

/** Which capability each call needs. */
const NEEDS: Record<string, string> = {
  search_accounts: "view_accounts", account_view: "view_accounts", account_credit_history: "view_accounts",
  account_credit_history_count: "view_accounts", account_payment_history: "view_accounts",
  audit_log: "view_accounts", audit_actions: "view_accounts", submit_adjustment: "adjust_credits",
  decide_adjustment: "approve_adjustments", pending_adjustments: "approve_adjustments",
  voucher_campaigns: "manage_vouchers", disable_voucher_campaign: "manage_vouchers", plan_catalogue: "manage_plans",
  api_keys: "manage_api_keys", revoke_api_key: "manage_api_keys",
};

test.describe("Operator console", () => {
  test("each console function and page needs its own capability, and customers get none", async ({ page }) => {
    // A throwaway customer: the allowed adjustment below credits it.
    const target = `cap-target-${Date.now()}@example.com`;
    cli("create-user", "--email", target, "--password", PASSWORD, "--country", "VN", "--currency", "VND");
    const accountId = cli("account-id", "--email", target);
    // A fresh operator holding one capability at a time.
    const email = `cap-${Date.now()}@example.com`;
    cli("create-user", "--email", email, "--password", PASSWORD, "--role", "operator");
    await signIn(page, email);
    await expect(page).toHaveURL(/\/ops$/);
    for (const held of [null, "view_accounts", "adjust_credits", "approve_adjustments", "manage_vouchers", "manage_api_keys", "manage_plans"]) {
      if (held) {
        cli("revoke", "--email", email, "--capability", "all");
        cli("grant", "--email", email, "--capability", held);
      }
      for (const [name, form] of operatorCalls(accountId)) {
        const r = await page.request.post(`/rpc/${name}`, { form, failOnStatusCode: false });
        if (NEEDS[name] === held) {
          // Allowed: a refusal now is about the arguments (an unknown id), never 403.
          expect(r.status(), `${name} with ${held}`).not.toBe(403);
          expect(r.status(), `${name} with ${held}`).toBeLessThan(500);
        } else {
          expect(r.status(), `${name} with ${held ?? "nothing"}`).toBe(403);
        }
      }
    }
    // Pages: the one the capability opens answers 200, the others 403 with the reason.
    for (const [path, needs] of [
      ["/ops", "view_accounts"], ["/ops/approvals", "approve_adjustments"], ["/ops/audit", "view_accounts"],
      ["/ops/vouchers", "manage_vouchers"], ["/ops/plans", "manage_plans"], [`/ops/accounts/${accountId}`, "view_accounts"],
      ["/ops/api-keys", "manage_api_keys"],
    ]) {
      const response = await page.goto(path);
      expect(response!.status(), path).toBe(needs === "manage_plans" ? 200 : 403);
    }
    await hydrated(page);
    await page.goto("/ops/vouchers");
    await hydrated(page);
    await expect(page.getByRole("alert")).toHaveText(
      "You need the “Manage vouchers” capability for this; ask an administrator to grant it.",
    );
    await expect(sections(page).getByRole("link")).toHaveText(["Plans"]);
    await signOut(page);

    // A customer is refused every one of them.
    await signIn(page, DEMO);
    await expect(page).toHaveURL(/\/billing$/);
    for (const [name, form] of operatorCalls(accountId)) {
      const r = await page.request.post(`/rpc/${name}`, { form, failOnStatusCode: false });
      expect(r.status(), name).toBe(403);
    }
    const consolePage = await page.goto("/ops");
    expect(consolePage!.status()).toBe(403);
    const exported = await page.request.get(`/billing/history/export?account=${accountId}`, { failOnStatusCode: false });
    expect(exported.status()).toBe(403);
  });

  test("support looks up a customer by each key and reads their account, without adjusting it", async ({ page }) => {
    await signIn(page, SUPPORT);
    await expect(page).toHaveURL(/\/ops$/);
    await hydrated(page);
    await expect(sections(page).getByRole("link")).toHaveText(["Accounts", "Audit log"]);
    const search = async (key: string) => {
      await page.getByLabel(/Email, account id, payment reference/).fill(key);
      await page.getByRole("button", { name: "Search" }).click();
      return page.getByRole("table", { name: "Accounts found" });
    };
    const accountId = cli("account-id", "--email", DEMO);
    let found = await search("DEMO@example.com");
    await expect(found.getByRole("row", { name: /demo@example\.com/ })).toContainText("Email");
    found = await search(accountId);
    await expect(found.getByRole("row", { name: /demo@example\.com/ })).toContainText("Account id");
    found = await search("WELCOME1M");
    await expect(found.getByRole("row", { name: /demo@example\.com/ })).toContainText("Voucher code");
    await search("no-such-key@example.com");
    await expect(page.getByText("No account has this key. Keys match exactly.")).toBeVisible();

    // The account: its payments give a reference that finds it again.
    await page.goto(`/ops/accounts/${accountId}/payments`);
    await hydrated(page);
    const reference = (await page.getByRole("table", { name: "Payment history" }).getByRole("row").nth(1)
      .getByRole("cell").nth(4).innerText()).trim();
    await page.goto("/ops");
    await hydrated(page);
    found = await search(reference);
    await expect(found.getByRole("row", { name: /demo@example\.com/ })).toContainText("Payment reference");
    await found.getByRole("link", { name: "demo@example.com" }).click();
    await expect(page).toHaveURL(new RegExp(`/ops/accounts/${accountId}$`));
    await expect(page.getByRole("heading", { name: "demo@example.com" })).toBeVisible();
    await expect(page.getByRole("table", { name: "Voucher grants" })).toContainText("WELCOME1M");
    // View only: no adjustment form.
    await expect(page.getByRole("heading", { name: "Adjust credits" })).toHaveCount(0);
    // The customer's Credit History, filtered the same way, with its export.
    await page.getByRole("navigation", { name: "Account sections" }).getByRole("link", { name: "Credit History" }).click();
    await expect(page.getByRole("table", { name: "Credit history" })).toBeVisible();
    await page.getByLabel("Balance type").selectOption("voucher");
    await expect(page).toHaveURL(/\/history\?balance=voucher$/);
    await expect(page.getByRole("table", { name: "Credit history" })).toContainText("WELCOME1M");
    const exported = await page.request.get(`/billing/history/export?balance=voucher&account=${accountId}`);
    expect(exported.status()).toBe(200);
    expect(exported.headers()["content-disposition"]).toContain(".xlsx");
  });

  test("an adjustment above the threshold waits for a second operator, who approves it; the customer sees it", async ({ page }) => {
    const customer = `adjust-${Date.now()}@example.com`;
    cli("create-user", "--email", customer, "--password", PASSWORD, "--country", "VN", "--currency", "VND");
    const accountId = cli("account-id", "--email", customer);

    await signIn(page, ADMIN);
    await expect(page).toHaveURL(/\/ops$/);
    await hydrated(page);
    await page.getByLabel(/Email, account id, payment reference/).fill(customer);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("table", { name: "Accounts found" }).getByRole("link", { name: customer }).click();
    await expect(page.getByRole("heading", { name: customer })).toBeVisible();
    await hydrated(page);
    await expect(page.getByText(`Adjustments of ${vnd("5000000")} or more wait for another operator's approval (7 days).`)).toBeVisible();

    // Checked beside each field, nothing sent.
    await page.getByRole("button", { name: "Submit adjustment" }).click();
    await expect(page.getByRole("alert")).toHaveText("Please correct the fields marked below.");
    await expect(page.locator("#adjust-amount-error")).toHaveText("Enter an amount.");
    await expect(page.locator("#adjust-comment-error")).toContainText("at least 10 characters");

    await page.getByLabel("Amount (VND)").fill("6000000");
    await page.getByLabel("Reason").selectOption("goodwill");
    await page.getByLabel("Comment for operators (at least 10 characters)").fill("GPU outage 20 Nov, ticket 4411");
    await page.getByLabel("What the customer reads in Credit History").fill("Credit for the GPU outage on 20 Nov");
    await page.getByRole("button", { name: "Submit adjustment" }).dblclick();
    await expect(page.getByRole("status").filter({ hasText: "Requested" })).toContainText(
      `Requested: +${vnd("6000000")} top-up credits. It waits for another operator's approval until`,
    );
    const table = page.getByRole("table", { name: "Adjustments" });
    await expect(table.getByRole("row")).toHaveCount(2); // the header and one request: the double click asked once
    await expect(table).toContainText("Waiting for approval");
    // The requester may withdraw it, never approve it.
    await expect(table.getByRole("button", { name: /^Approve/ })).toHaveCount(0);
    await expect(table.getByRole("button", { name: /^Withdraw adjustment/ })).toBeVisible();
    const id = ((await table.getByRole("row").nth(1).getByRole("cell").first().innerText()).match(/#(\d+)/) ?? [])[1];
    const own = await page.request.post("/rpc/decide_adjustment", { form: { id: id!, decision: "Approve" }, failOnStatusCode: false });
    expect(own.status()).toBe(403);
    expect((await own.json()).NotAllowed).toBe("You asked for this adjustment, so another operator has to decide on it.");
    await signOut(page);

    // Finance approves it from the queue.
    await signIn(page, FINANCE);
    await hydrated(page);
    await sections(page).getByRole("link", { name: "Approvals" }).click();
    await expect(page).toHaveURL(/\/ops\/approvals$/);
    const queue = page.getByRole("table", { name: "Adjustments" });
    const row = queue.getByRole("row", { name: new RegExp(customer.replace(/[.]/g, "\\.")) });
    await expect(row).toContainText(`+${vnd("6000000")}`);
    await row.getByLabel(`Note on adjustment ${id}`).fill("Checked ticket 4411");
    await row.getByRole("button", { name: `Approve adjustment ${id}` }).click();
    await expect(page.getByRole("status").filter({ hasText: "Decision recorded." })).toBeVisible();
    await expect(queue.getByRole("row", { name: new RegExp(customer.replace(/[.]/g, "\\.")) })).toHaveCount(0);
    // The audit log has it, with who and why.
    await sections(page).getByRole("link", { name: "Audit log" }).click();
    await page.getByLabel("Account id").fill(accountId);
    await page.getByLabel("Account id").press("Enter");
    const log = page.getByRole("table", { name: "Audit log entries" });
    await expect(log.getByRole("row").nth(1)).toContainText("adjustment.approved");
    await expect(log.getByRole("row").nth(1)).toContainText(FINANCE);
    await expect(log.getByRole("row").nth(1)).toContainText("Checked ticket 4411");
    await expect(log.getByRole("row").nth(2)).toContainText("adjustment.requested");
    await signOut(page);

    // The customer sees the credit and the words meant for them.
    await signIn(page, customer);
    await expect(page).toHaveURL(/\/billing$/);
    await hydrated(page);
    await expect(page.getByRole("link", { name: /^Total balance/ })).toContainText(vnd("6000000"));
    await page.goto("/billing/history");
    await hydrated(page);
    const history = page.getByRole("table", { name: "Credit history" });
    await expect(history.getByRole("row").nth(1)).toContainText("Credit for the GPU outage on 20 Nov");
    await expect(history.getByRole("row").nth(1)).toContainText("Billing Support");
    await expect(history.getByRole("row").nth(1)).toContainText(`+${vnd("6000000")}`);
  });

  test("a charged-back top-up, partly spent, is reversed after a second operator approves; the customer owes the rest", async ({ page }) => {
    const customer = `chargeback-${Date.now()}@example.com`;
    cli("create-user", "--email", customer, "--password", PASSWORD, "--country", "VN", "--currency", "VND");
    const accountId = cli("account-id", "--email", customer);
    // The customer tops up 1.000.000 ₫ through VNPay and spends 400.000 ₫ of it.
    await signIn(page, customer);
    await expect(page).toHaveURL(/\/billing$/);
    await openAddCredit(page);
    await fillSettings(page, { name: "Lê Văn Chargeback", country: "Vietnam" });
    await payThrough(page, { preset: vnd("1000000"), method: "VNPay", pay: `Pay ${vnd("1000000")}` });
    await atGateway(page, "VNPay", vnd("1000000"), "Pay");
    await expect(page.getByRole("heading", { name: "Payment successful" })).toBeVisible();
    const reference = page.url().split("/").pop()!;
    const spent = await page.request.post("/api/v1/charges", {
      headers: { Authorization: `Bearer ${API_KEY}`, "Idempotency-Key": `chargeback-${reference}` },
      data: {
        account_id: accountId, service: "gpu_container", resource: "gpu-a100", description: "GPU hours", amount: "400000",
      },
    });
    expect(spent.status()).toBe(201);
    await signOut(page);

    // Support opens the reversal from the bank's notice; they cannot approve it.
    await signIn(page, ADMIN);
    await expect(page).toHaveURL(/\/ops$/);
    await page.goto(`/ops/accounts/${accountId}`);
    await hydrated(page);
    await page.getByLabel("Payment reference").fill(reference);
    await page.getByLabel("Why (the dispute, the bank's notice)").fill("Bank charge-back notice CB-2291, card reported stolen");
    await page.getByRole("button", { name: "Request reversal" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Reversal requested" })).toBeVisible();
    const reversals = page.getByRole("table", { name: "Reversals" });
    await expect(reversals).toContainText("Waiting for approval");
    await expect(reversals.getByRole("button", { name: /^Approve reversal/ })).toHaveCount(0);
    await signOut(page);

    // Finance approves it from the queue.
    await signIn(page, FINANCE);
    await hydrated(page);
    await sections(page).getByRole("link", { name: "Approvals" }).click();
    const queue = page.getByRole("table", { name: "Reversals" });
    const row = queue.getByRole("row", { name: new RegExp(reference) });
    await expect(row).toContainText(customer);
    await row.getByRole("button", { name: /^Approve reversal/ }).click();
    await expect(queue.getByRole("row", { name: new RegExp(reference) })).toHaveCount(0);
    await page.goto(`/ops/accounts/${accountId}`);
    await hydrated(page);
    await expect(page.getByRole("table", { name: "Reversals" })).toContainText(vnd("600000"));
    await expect(page.getByText(`The account owes ${vnd("400000")} for charge-backs`)).toBeVisible();
    await signOut(page);

    // The customer: the 600.000 ₫ left taken back, 400.000 ₫ owed and said so.
    await signIn(page, customer);
    await expect(page).toHaveURL(/\/billing$/);
    await hydrated(page);
    await expect(page.getByRole("link", { name: /^Total balance/ })).toContainText("0 ₫");
    await expect(page.getByText(`You owe ${vnd("400000")} for a charged-back payment`)).toBeVisible();
    await page.goto("/billing/history");
    await hydrated(page);
    const history = page.getByRole("table", { name: "Credit history" });
    await expect(history.getByRole("row").nth(1)).toContainText(`Charge-back of top-up ${reference}`);
    await expect(history.getByRole("row").nth(1)).toContainText(`-${vnd("600000")}`);
  });

  test("an operator creates an API key, sees it once, a service charges with it, and revoking it locks the service out", async ({ page }) => {
    const customer = `keyed-${Date.now()}@example.com`;
    cli("create-user", "--email", customer, "--password", PASSWORD, "--country", "VN", "--currency", "VND");
    const accountId = cli("account-id", "--email", customer);
    await signIn(page, ADMIN);
    await expect(page).toHaveURL(/\/ops$/);
    await sections(page).getByRole("link", { name: "API keys" }).click();
    await expect(page).toHaveURL(/\/ops\/api-keys$/);
    await hydrated(page);
    // Checked beside each field, nothing made.
    await page.getByLabel("Model Fine-tuning").uncheck();
    await page.getByLabel("GPU Container").uncheck();
    await page.getByLabel("AI Inference").uncheck();
    await page.getByLabel("VND").fill("12.5");
    await page.getByRole("button", { name: "Create key" }).click();
    await expect(page.getByRole("alert")).toHaveText("Please correct the fields marked below.");
    await expect(page.locator("#key-name-error")).toHaveText("Name the service that uses the key (1 to 100 characters).");
    await expect(page.locator("#key-services-error")).toHaveText("Choose at least one service the key may charge.");
    await expect(page.locator("#key-max_vnd-error")).toHaveText("VND amounts have at most 0 decimal places.");

    const name = `inference-${Date.now()}`;
    await page.getByLabel("Name (the service that uses it)").fill(name);
    await page.getByLabel("AI Inference").check();
    await page.getByLabel("VND").fill("50000");
    await page.getByRole("button", { name: "Create key" }).click();
    const shown = page.getByLabel("The new API key");
    await expect(shown).toHaveText(/^bk_[0-9a-f]{64}$/);
    const key = (await shown.innerText()).trim();
    const row = page.getByRole("table", { name: "API keys" }).getByRole("row", { name: new RegExp(name) });
    await expect(row).toContainText("AI Inference");
    await expect(row).toContainText(vnd("50000"));
    await expect(row).not.toContainText(key);

    // The service charges within its scope; another service is 403.
    const charge = (amount: string, service = "ai_inference") =>
      page.request.post("/api/v1/charges", {
        headers: { Authorization: `Bearer ${key}`, "Idempotency-Key": `${name}-${service}-${amount}-${Math.random()}` },
        data: { account_id: accountId, service, resource: "llm", description: "tokens", amount },
        failOnStatusCode: false,
      });
    expect((await charge("1000")).status()).toBe(402); // a fresh account: no credit, but the key is accepted
    expect((await charge("1000", "gpu_container")).status()).toBe(403);
    expect((await charge("60000")).status()).toBe(422); // over the key's largest charge

    await row.getByRole("button", { name: `Revoke ${name}` }).click();
    await expect(row).toContainText("Revoked");
    expect((await charge("1000")).status()).toBe(401);
  });
});
