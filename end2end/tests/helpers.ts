import { expect, Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const demo = {
  admin: { email: "admin@demo.portcullis.test", password: process.env.E2E_ADMIN_PASSWORD ?? "" },
  auditor: { email: "auditor@demo.portcullis.test", password: process.env.E2E_AUDITOR_PASSWORD ?? "" },
  customer: { email: "customer@demo.portcullis.test", password: process.env.E2E_CUSTOMER_PASSWORD ?? "" },
};

/** Waits until the wasm has hydrated the page (the app marks <body>): up to
 * 30 s, since a fresh browser context compiles the debug wasm again and two
 * busy cores can take a while; on failure says what the page had loaded. */
export async function hydrated(page: Page) {
  try {
    await expect(page.locator("body[data-hydrated]")).toHaveCount(1, { timeout: 30_000 });
  } catch (e) {
    const res = await page.evaluate(() => performance.getEntriesByType("resource").map((r: any) => `${r.name} ${Math.round(r.duration)}ms ${r.responseStatus ?? ""}`));
    console.log("NOT HYDRATED " + page.url() + "\n" + res.join("\n"));
    throw e;
  }
}

export async function logIn(page: Page, email: string, password: string) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

export function uniqueEmail(prefix: string) {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

// The mailbox of the real SMTP server scripts/e2e.sh starts (aiosmtpd, a
// Maildir): journeys read the mail the portal sent, as its owner would.
const maildir = process.env.E2E_MAILDIR ?? "";

/** The text/plain part of a raw message, quoted-printable undone. */
function plainText(raw: string): string {
  const text = raw.replace(/\r\n/g, "\n");
  const part = text.split(/\n--[^\n]+\n/).find((p) => /^content-type: text\/plain/im.test(p)) ?? text;
  const body = part.slice(part.indexOf("\n\n") + 2);
  if (!/content-transfer-encoding: quoted-printable/i.test(part)) return body;
  return body.replace(/=\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

/** The Subject header of a raw message, unfolded (plain ASCII subjects). */
function subjectOf(raw: string): string {
  const m = raw.replace(/\r\n/g, "\n").match(/^Subject: (.*(?:\n[ \t].*)*)/im);
  return (m?.[1] ?? "").replace(/\n[ \t]+/g, " ").trim();
}

/** Waits (≤ 20 s) for a mail to `to` with a link to `linkPath`; returns its subject and the link. */
export async function mailedTo(to: string, linkPath: string): Promise<{ subject: string; link: string }> {
  expect(maildir, "E2E_MAILDIR is set by scripts/e2e.sh").not.toBe("");
  const dir = path.join(maildir, "new");
  const wanted = new RegExp(`https?://\\S+${linkPath.replace(/[/]/g, "\\/")}\\?token=[A-Za-z0-9]+`);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      const raw = fs.readFileSync(path.join(dir, f), "utf8");
      if (!new RegExp(`^To: .*${to.replace(/[.+]/g, "\\$&")}`, "mi").test(raw)) continue;
      const link = plainText(raw).match(wanted);
      if (link) return { subject: subjectOf(raw), link: link[0] };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no mail to ${to} with a ${linkPath} link within 20 s`);
}

/** Waits (≤ 20 s) for a mail to `to` with a link to `linkPath` and returns the link. */
export async function linkMailedTo(to: string, linkPath: string): Promise<string> {
  return (await mailedTo(to, linkPath)).link;
}

/** Signs up, confirms the address through the mailed link and logs in. */
export async function signUp(page: Page, email: string, password: string) {
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/signup\/sent$/);
  await expect(page.getByTestId("signup-sent")).toBeVisible();
  await page.goto(await linkMailedTo(email, "/confirm-email"));
  await expect(page.getByTestId("link-email")).toHaveText(email);
  await page.getByRole("button", { name: "Confirm my address" }).click();
  await expect(page).toHaveURL(/\/login\?email=confirmed$/);
  await logIn(page, email, password);
  await expect(page).toHaveURL(/\/account$/);
}

/** Calls a server function as the page's session, as a browser form post would. */
export async function callFn(page: Page, endpoint: string, form: Record<string, string>) {
  return page.request.post(`/fn/${endpoint}`, { form, headers: { origin: new URL(page.url()).origin } });
}

/** On /account/credentials: creates a pull credential and reads its user name and secret (shown once). */
export async function createPullCredential(page: Page, name: string) {
  await expect(page).toHaveURL(/\/account\/credentials$/);
  await hydrated(page);
  const form = page.getByTestId("new-credential");
  await form.getByLabel("Name").fill(name);
  await form.getByRole("button", { name: "Create credential" }).click();
  await expect(page.getByTestId("new-secret")).toContainText(`Credential "${name}" created`);
  const user = await page.getByTestId("credential-username").inputValue();
  const secret = await page.getByTestId("credential-secret").inputValue();
  expect(user).toMatch(/^pull-/);
  return { user, secret };
}

// ---- The real registry (scripts/e2e.sh starts it and pushes acme/widget:1.0) ----

const repoRoot = process.env.E2E_REPO_ROOT ?? path.resolve(__dirname, "../..");
export const registryHost = process.env.E2E_REGISTRY_HOST ?? "";

/**
 * Pulls `image` (default acme/widget:1.0) from the registry with skopeo, as
 * a customer would, with a pull credential. Answers whether it worked and
 * what skopeo said (the portal's refusal reaches it through the registry).
 */
export function pull(user: string, secret: string, image = "acme/widget:1.0"): { ok: boolean; stderr: string } {
  if (!registryHost) throw new Error("E2E_REGISTRY_HOST is not set: run the browser tests through scripts/e2e.sh");
  const dir = fs.mkdtempSync(path.join(process.env.E2E_WORK ?? os.tmpdir(), "pull-"));
  const script = 'source scripts/registry.sh; skopeo_isolated "$1" copy --quiet --src-tls-verify=false --src-creds "$2" "docker://$3" "dir:$4"';
  try {
    execFileSync("bash", ["-c", script, "pull", `${dir}/skopeo`, `${user}:${secret}`, `${registryHost}/${image}`, `${dir}/image`], {
      cwd: repoRoot,
      timeout: 90_000,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return { ok: true, stderr: "" };
  } catch (e) {
    // skopeo's own words; the command line (with the secret) only when it said nothing.
    const err = e as { stderr?: string; message?: string };
    return { ok: false, stderr: (err.stderr || err.message || "").split(secret).join("<secret>") };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---- The Stripe stand-in's test controls (end2end/stripe-standin) ----

export const standinUrl = (process.env.E2E_STANDIN_URL ?? "").replace(/\/$/, "");

async function standinCall(method: "GET" | "POST", path: string, body?: object): Promise<any> {
  if (!standinUrl) throw new Error("E2E_STANDIN_URL is not set: run the browser tests through scripts/e2e.sh");
  const res = await fetch(`${standinUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${process.env.E2E_STANDIN_API_KEY ?? ""}`,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(40_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`stand-in ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** An id field of a Stripe object: a string, or an expanded object's id. */
function idOf(v: unknown): string {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as { id?: unknown }).id === "string") return (v as { id: string }).id;
  return "";
}

export const standin = {
  /** The Checkout Session behind a `/checkout/success?session_id=…` URL, with what paying it made. */
  async session(sessionId: string) {
    const s = await standinCall("GET", `/test/checkout/sessions/${encodeURIComponent(sessionId)}`);
    return { subscription: idOf(s.subscription), paymentIntent: idOf(s.payment_intent), raw: s };
  },
  /** `fail_next_invoice`, `advance`, `pay_open_invoice`, `mark_unpaid` or `cancel`. */
  subscription(id: string, action: "fail_next_invoice" | "advance" | "pay_open_invoice" | "mark_unpaid" | "cancel") {
    return standinCall("POST", `/test/subscriptions/${encodeURIComponent(id)}/${action}`);
  },
  refund(paymentIntent: string) {
    return standinCall("POST", `/test/payment_intents/${encodeURIComponent(paymentIntent)}/refund`);
  },
  /** Webhook switches: `hold` keeps events unsent until released (a slow Stripe). */
  webhooks(switches: { hold?: boolean; duplicates?: boolean; out_of_order?: boolean }) {
    return standinCall("POST", "/test/webhooks", switches);
  },
  /** Waits until every event was delivered, and checks the portal took each one (2xx). */
  async flush() {
    const r = await standinCall("POST", "/test/webhooks/flush");
    expect(r, "webhook delivery").toMatchObject({ queued: 0, failed: 0, timed_out: false });
    return r;
  },
};

/** From a success URL: the `session_id` Stripe filled in. */
export function sessionIdOf(url: string) {
  const id = new URL(url).searchParams.get("session_id") ?? "";
  expect(id).toMatch(/^cs_/);
  return id;
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s), as an authenticator app computes it. */
export function totp(secretBase32: string, atSeconds: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of secretBase32.replace(/=+$/, "").toUpperCase()) {
    bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  }
  const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atSeconds / 30)));
  const mac = require("node:crypto").createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, "0");
}
