import { test, expect, signIn, hydrated, apiBalance, cli, vnd, DEMO, SECOND, NEW, PASSWORD } from "./fixtures";

test("a wrong password or an unknown email shows the same error and stays signed out", async ({ page }) => {
  await signIn(page, DEMO, "not-the-password");
  await expect(page.getByRole("alert")).toHaveText("The email or password is incorrect.");
  await expect(page).toHaveURL(/\/sign-in$/);

  await page.getByLabel("Email").fill("nobody@example.com");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("The email or password is incorrect.");

  await page.goto("/billing");
  await expect(page).toHaveURL(/\/sign-in$/);
});

test("the demo customer sees the ledger's balances in the header and the overview, in VND", async ({ page, request }) => {
  const ledger = await apiBalance(request, cli("account-id", "--email", DEMO));
  expect(ledger.currency).toBe("VND");
  expect(BigInt(ledger.total)).toBe(BigInt(ledger.top_up) + BigInt(ledger.voucher));

  await signIn(page, DEMO);
  await expect(page).toHaveURL(/\/billing$/);
  await expect(page.getByRole("heading", { name: "Billing Management" })).toBeVisible();

  const headerBalance = page.getByRole("link", { name: `Total balance ${vnd(ledger.total)}` });
  await expect(headerBalance).toBeVisible();
  await expect(page.getByRole("banner")).toContainText(DEMO);

  const overview = page.getByRole("region", { name: "Overview" });
  await expect(overview.getByRole("definition").nth(0)).toHaveText(vnd(ledger.total));
  await expect(overview.getByRole("definition").nth(1)).toHaveText(vnd(ledger.top_up));
  await expect(overview.getByRole("definition").nth(2)).toHaveText(vnd(ledger.voucher));
  await expect(overview.getByRole("term")).toHaveText(["Total balance", "Top-up credits", "Voucher credits"]);

  // The header's balance leads to Billing Management from anywhere.
  await page.goto("/");
  await expect(page).toHaveURL(/\/billing$/);
  await hydrated(page);
  await headerBalance.click();
  await expect(page).toHaveURL(/\/billing$/);
});

test("a second customer sees only their own figures", async ({ page }) => {
  await signIn(page, SECOND, "second-password");
  await expect(page).toHaveURL(/\/billing$/);
  await expect(page.getByRole("link", { name: "Total balance $0.00" })).toBeVisible();
  const overview = page.getByRole("region", { name: "Overview" });
  await expect(overview.getByRole("definition").nth(0)).toHaveText("$0.00");
  await expect(page.getByRole("main")).not.toContainText("₫");
  await expect(page.getByRole("banner")).toContainText(SECOND);
  await expect(page.getByRole("banner")).not.toContainText(DEMO);
});

test("a customer without a billing profile is told so", async ({ page }) => {
  // Its own customer: new@example.com gets a profile in the Add credit tests.
  cli("create-user", "--email", "no-profile@example.com", "--password", PASSWORD);
  await signIn(page, "no-profile@example.com");
  await expect(page).toHaveURL(/\/billing$/);
  await expect(page.getByRole("banner")).toContainText("No billing profile yet");
  await expect(page.getByRole("region", { name: "Overview" })).toContainText("You have no billing profile yet");
});

test("signing out ends the session: billing then requires signing in again", async ({ page, context }) => {
  await signIn(page, DEMO);
  await expect(page).toHaveURL(/\/billing$/);
  const before = (await context.cookies()).find((c) => c.name === "billing_session");
  expect(before?.httpOnly).toBe(true);
  expect(before?.sameSite).toBe("Lax");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();

  await page.goto("/billing");
  await expect(page).toHaveURL(/\/sign-in$/);

  // The old cookie is dead on the server too: replaying it does not sign anyone in.
  if (before) {
    await context.addCookies([{ ...before }]);
    await page.goto("/billing");
    await expect(page).toHaveURL(/\/sign-in$/);
  }
});

test("signing in issues a new session id", async ({ page, context }) => {
  await page.goto("/sign-in");
  await context.addCookies([
    { name: "billing_session", value: "planted-by-an-attacker", url: page.url() },
  ]);
  await signIn(page, DEMO);
  await expect(page).toHaveURL(/\/billing$/);
  const cookie = (await context.cookies()).find((c) => c.name === "billing_session");
  expect(cookie?.value).toBeTruthy();
  expect(cookie?.value).not.toBe("planted-by-an-attacker");
});
