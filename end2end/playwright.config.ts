import { defineConfig, devices } from "@playwright/test";

const port = process.env.E2E_PORT ?? "3100";
export const baseURL = `http://127.0.0.1:${port}`;

// Debian's Chromium (the Playwright CDN is not reachable here). The networking flags
// stop Chromium from calling Google on a closed network.
const chromium = {
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
};

export default defineConfig({
  testDir: "./tests",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  timeout: 30_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: chromium,
  },
  projects: [
    { name: "desktop", use: { ...devices["Desktop Chrome"], launchOptions: chromium } },
    {
      name: "phone",
      use: { ...devices["Pixel 7"], launchOptions: chromium },
      testMatch: /(layout|a11y)\.spec\.ts/,
    },
  ],
  webServer: {
    command: "bash serve.sh",
    url: `${baseURL}/healthz`,
    env: { E2E_ADDR: `127.0.0.1:${port}` },
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "pipe",
    stderr: "pipe",
  },
});
