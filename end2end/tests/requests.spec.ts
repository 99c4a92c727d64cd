import { expect, test } from "@playwright/test";
import { demo, hydrated, logIn, uniqueEmail } from "./helpers";

const PASSWORD = "correct horse battery staple";

// A deep link survives the log-in; a customer asks for a trial from the
// product page; the admin sees it counted and listed on the dashboard and
// grants it; the customer then reads on the product page and the catalogue
// that they have access, and until when.
test("a trial asked for on the product page is granted from the dashboard", async ({ browser }) => {
  const adminCtx = await browser.newContext();
  const admin = await adminCtx.newPage();
  await admin.goto("/admin/customers?segment=active");
  await expect(admin).toHaveURL(/\/login\?next=%2Fadmin%2Fcustomers%3Fsegment%3Dactive$/);
  await hydrated(admin);
  await admin.getByLabel("E-mail").fill(demo.admin.email);
  await admin.getByLabel("Password").fill(demo.admin.password);
  await admin.getByRole("button", { name: "Log in" }).click();
  await expect(admin).toHaveURL(/\/admin\/customers\?segment=active$/);
  await expect(admin.getByTestId("customer-segment")).toContainText("Customers with access now");

  // A new customer (made by the admin, so already confirmed).
  const email = uniqueEmail("trial");
  const made = await admin.request.post("/fn/admin/create_customer", {
    form: { email, name: "Trial Corp", password: PASSWORD },
    headers: { origin: new URL(admin.url()).origin },
  });
  expect(made.ok()).toBeTruthy();

  const customerCtx = await browser.newContext();
  const customer = await customerCtx.newPage();
  await logIn(customer, email, PASSWORD);
  await expect(customer).toHaveURL(/\/account$/);
  await customer.goto("/catalogue/acme-widget");
  await hydrated(customer);
  await customer.getByLabel("Message to the vendor (optional)").fill("Five of us want to try the plug-ins.");
  await customer.getByTestId("request-trial").click();
  await expect(customer.getByTestId("request-sent")).toContainText("You asked for a trial on");

  // The dashboard counts and lists it; the admin grants it.
  await admin.goto("/admin");
  await hydrated(admin);
  await expect(admin.getByTestId("figure-requests").getByTestId("figure-value")).not.toHaveText("0");
  const request = admin.getByTestId("request").filter({ hasText: email });
  await expect(request).toContainText("Five of us want to try the plug-ins.");
  await request.getByRole("button", { name: /Grant a trial to/ }).click();
  await expect(admin.getByTestId("request").filter({ hasText: email })).toHaveCount(0);

  // The customer owns it now.
  await customer.goto("/catalogue/acme-widget");
  await hydrated(customer);
  await expect(customer.getByTestId("owned")).toContainText("active until");
  await expect(customer.getByTestId("request-trial")).toHaveCount(0);
  await customer.goto("/catalogue");
  await expect(customer.getByTestId("product-card").filter({ hasText: "Acme Widget" }).getByTestId("ownership")).toContainText("You have access");
  await adminCtx.close();
  await customerCtx.close();
});
