// The admin console (web/admin): an admin signs in (a customer is refused), edits a product's price
// and loses a version race visibly (both versions shown, the typed price kept, re-applied), sees an
// empty or malformed number or amount refused as a field error with nothing saved, fulfils
// a paid order, refunds one of its lines (the refund's state shown until it settles), retries a
// dead job; every console page passes axe and loads in under a second, one at phone width.
// The data comes from the API (a fresh customer places and pays an order); nothing is hard-coded.
//
//   EMPORIUM_URL=http://127.0.0.1:8080 ADMIN_EMAIL=… ADMIN_PASSWORD=… node tests/browser/admin.mjs
import { randomUUID } from 'node:crypto';

import { assert, base, env, finish, scenario } from './harness.mjs';

const kSettleMs = Number(env.ADMIN_SETTLE_MS ?? 45_000); // payments and refunds run in the worker

async function api(path, { method = 'GET', token, body, headers = {} } = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return json;
}

async function until(what, probe, ms = kSettleMs) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const login = async (email, password) => (await api('/api/v1/auth/login', { method: 'POST', body: { email, password } })).access_token;

// A customer who bought two in-stock variants (of two products) and paid; the order is `paid`.
async function paidOrder(admin) {
  const email = `admin-test-${randomUUID()}@example.com`;
  const password = `pw-${randomUUID()}`;
  await api('/api/v1/auth/register', { method: 'POST', body: { email, password, name: 'Console Test' } });
  const token = await login(email, password);
  const listing = await api('/api/v1/products?in_stock=true&sort=newest&limit=20');
  const lines = [];
  for (const product of listing.items) {
    const variants = await api(`/api/v1/products/${product.id}/variants`);
    const variant = variants.items.find((v) => v.is_active && v.available >= 2);
    if (variant) lines.push({ variant_id: variant.id, quantity: 1 });
    if (lines.length === 2) break;
  }
  assert.equal(lines.length, 2, 'two products in stock');
  // The destination: one the shop has tax rates and shipping for, if it has any.
  const body = { items: lines, shipping_address: { name: 'Console Test', line1: '1 Test Street', city: 'Testville' } };
  const rates = await api('/api/v1/admin/tax-rates', { token: admin });
  const country = rates.items?.[0]?.country;
  if (country) {
    body.country = country;
    const options = await api(`/api/v1/admin/shipping-options?country=${country}`, { token: admin });
    if (options.items?.length) body.shipping_option_id = options.items[0].id;
  }
  const order = await api('/api/v1/orders', { method: 'POST', token, body, headers: { 'Idempotency-Key': randomUUID() } });
  await api(`/api/v1/orders/${order.id}/pay`, {
    method: 'POST',
    token,
    body: { payment_method: 'tok_ok' },
    headers: { 'Idempotency-Key': randomUUID() },
  });
  await until(`order ${order.id} paid`, async () => (await api(`/api/v1/orders/${order.id}`, { token })).status === 'paid');
  return { email, password, order, lines };
}

// Opens the console's page at `hash` inside the running app (the session lives in this tab; a full
// reload would spend a refresh token, and the auth rate limit allows 5 a minute) and checks it is
// ready — its data shown — within the page budget. t.check then times the app's full load.
const kPageBudgetMs = 1000;
const pageTimes = [];
async function visit(page, hash, ready) {
  const started = Date.now();
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
  await ready.waitFor();
  const ms = Date.now() - started;
  pageTimes.push({ page: hash, ready_ms: ms });
  assert.ok(ms < kPageBudgetMs, `${hash} took ${ms} ms to show its data (budget ${kPageBudgetMs} ms)`);
}

async function signInAs(page, email, password) {
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

// The edit form shows `key`'s own error (aria-invalid, described by the message) matching `message`.
async function fieldError(page, key, message) {
  const error = page.locator(`#edit-${key}-error`);
  await error.waitFor();
  assert.match(await error.innerText(), message);
  const input = page.locator(`#edit-${key}`);
  assert.equal(await input.getAttribute('aria-invalid'), 'true', `${key} is marked invalid`);
  assert.ok((await input.getAttribute('aria-describedby'))?.split(' ').includes(`edit-${key}-error`), `${key} is described by its error`);
}

// Nothing was written: the same version and the same values of `keys`.
function assertSameVersion(now, before, keys) {
  assert.equal(now.version, before.version, 'nothing was saved');
  for (const k of keys) assert.deepEqual(now[k], before[k], `${k} unchanged`);
}

await scenario('admin console', async (t) => {
  t.at('setup through the API');
  const admin = await login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD);
  const { email, password, order, lines } = await paidOrder(admin);
  const dead = await api('/api/v1/admin/jobs/dead?limit=5', { token: admin });
  assert.ok(dead.items.length > 0, 'the environment provides at least one dead job');

  const page = await t.open();
  t.at('sign-in page');
  await page.goto(`${base}/admin/`);
  await page.getByRole('heading', { level: 1, name: 'Sign in to the admin console' }).waitFor();
  await t.check(page, 'sign-in');

  t.at('a customer is refused');
  await signInAs(page, email, password);
  await page.getByRole('alert').getByText('is not an admin').waitFor();

  t.at('admin signs in');
  await signInAs(page, env.ADMIN_EMAIL, env.ADMIN_PASSWORD);
  await page.getByRole('heading', { level: 1, name: 'Products' }).waitFor();
  await page.getByRole('table').first().waitFor();
  await t.check(page, 'products');

  t.at('product edit: lose a version race');
  const productId = (await api('/api/v1/products?sort=price_desc&limit=1')).items[0].id;
  const before = await api(`/api/v1/products/${productId}`);
  await visit(page, `#/products/${productId}`, page.getByRole('form', { name: 'Edit product' }));
  await t.check(page, 'product edit');
  const price = page.getByLabel(/^Price/);
  // A cleared price is a field error, never "free": nothing is sent.
  await price.fill('');
  await page.getByRole('button', { name: 'Save' }).click();
  await fieldError(page, 'price_cents', /^Required/);
  assertSameVersion(await api(`/api/v1/products/${productId}`), before, ['price']);
  const typed = ((before.price.amount_cents + 123) / 100).toFixed(2);
  await price.fill(typed);
  // Someone else saves the product after the form loaded.
  const theirs = await api(`/api/v1/products/${productId}`, {
    method: 'PATCH',
    token: admin,
    headers: { 'If-Match': `W/"${before.version}"` },
    body: { description: `${before.description} (edited by the test at ${new Date().toISOString()})` },
  });
  await page.getByRole('button', { name: 'Save' }).click();
  const conflict = page.getByRole('region', { name: 'Version conflict' });
  await conflict.waitFor();
  assert.equal(await conflict.getByTestId('mine-price_cents').innerText(), typed);
  assert.equal(await conflict.getByTestId('theirs-price_cents').innerText(), (before.price.amount_cents / 100).toFixed(2));
  assert.match(await conflict.getByTestId('theirs-description').innerText(), /edited by the test/);
  await conflict.getByText(`Current (version ${theirs.version})`).waitFor();
  assert.equal(await price.inputValue(), typed, 'the typed price is still in the form');
  await conflict.getByRole('button', { name: `Re-apply my changes to version ${theirs.version}` }).click();
  await page.getByRole('status').getByText(`Saved: now version ${theirs.version + 1}.`).waitFor();
  const after = await api(`/api/v1/products/${productId}`);
  assert.equal(after.price.amount_cents, before.price.amount_cents + 123);
  assert.match(after.description, /edited by the test/, 'the other edit survived');
  // Put the demo data back as it was.
  await api(`/api/v1/products/${productId}`, {
    method: 'PATCH',
    token: admin,
    headers: { 'If-Match': `W/"${after.version}"` },
    body: { price_cents: before.price.amount_cents, description: before.description },
  });

  t.at('variant edit: empty or malformed numbers are field errors, nothing is saved');
  const variantId = lines[0].variant_id;
  const variantBefore = await api(`/api/v1/variants/${variantId}`);
  await visit(page, `#/variants/${variantId}`, page.getByRole('form', { name: 'Edit variant' }));
  const stock = page.getByLabel(/^Stock/);
  const ownPrice = page.getByLabel(/^Own price/);
  const save = page.getByRole('button', { name: 'Save' });
  await stock.fill(''); // was: 0 units and a ledger row
  await save.click();
  await fieldError(page, 'stock', /^Required/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'edit-stock', 'focus moves to the field to fix');
  await stock.fill('7x');
  await ownPrice.fill('12,5x'); // was: NaN → null, the variant's own price dropped
  await save.click();
  await fieldError(page, 'stock', /whole number/);
  await fieldError(page, 'price_cents', /amount/);
  await page.getByRole('status').getByText('Not saved: 2 fields need fixing.').waitFor();
  assertSameVersion(await api(`/api/v1/variants/${variantId}`), variantBefore, ['stock', 'price_override_cents']);
  await stock.fill(String(variantBefore.stock));
  assert.equal(await stock.getAttribute('aria-invalid'), null, 'the error goes once the field is edited');

  t.at('stock ledger');
  await visit(page, `#/stock?variant=${lines[0].variant_id}`, page.getByRole('table', { name: 'Ledger rows, newest first' }));
  await page.getByText(/Clean|mismatch/).first().waitFor();
  await t.check(page, 'stock and ledger');

  t.at('orders filtered by customer');
  await visit(page, `#/orders?email=${encodeURIComponent(email)}`, page.getByRole('link', { name: `Order #${order.id}` }));
  await t.check(page, 'orders');
  await page.getByRole('link', { name: `Order #${order.id}` }).click();
  await page.getByRole('heading', { level: 1, name: `Order #${order.id}` }).waitFor();
  await page.getByRole('button', { name: 'Mark as fulfilled' }).waitFor();
  await t.check(page, 'order detail');

  t.at('fulfil the paid order');
  await page.getByRole('button', { name: 'Mark as fulfilled' }).click();
  await page.getByRole('status').getByText('Order fulfilled.').waitFor();
  assert.equal(
    await page.evaluate(() => document.activeElement?.textContent),
    'Order fulfilled.',
    'focus moves to the outcome (the button is gone)',
  );
  await page.locator('.facts').getByText('fulfilled', { exact: true }).waitFor();
  assert.equal((await api(`/api/v1/orders/${order.id}`, { token: admin })).status, 'fulfilled');

  t.at('refund: a malformed amount is a field error');
  const amount = page.getByLabel(/^Amount/);
  await amount.fill('12,5x');
  await page.getByRole('button', { name: 'Refund amount' }).click();
  const amountError = page.locator('#f-refund-amount-error');
  await amountError.waitFor();
  assert.match(await amountError.innerText(), /amount/);
  assert.equal(await amount.getAttribute('aria-invalid'), 'true');
  await amount.fill('');

  t.at('refund one line');
  await page.getByLabel(/^Units of .* to refund$/).first().fill('1');
  await page.getByRole('button', { name: 'Refund selected lines' }).click();
  await page.getByRole('status').getByText(/Refund #\d+ requested/).waitFor();
  const refundRow = page.getByRole('table', { name: 'Refunds of this order' }).getByRole('row').nth(1);
  await refundRow.waitFor();
  // The background refund settles; the page shows its state without a reload.
  await refundRow.getByText('succeeded').waitFor({ timeout: kSettleMs });
  const refunds = await api(`/api/v1/orders/${order.id}/refunds`, { token: admin });
  assert.equal(refunds.items.length, 1);
  assert.equal(refunds.items[0].lines.length, 1);

  t.at('promotions');
  await visit(page, '#/promotions', page.getByRole('table', { name: 'Promotions', exact: true }));
  await t.check(page, 'promotions');

  t.at('webhooks');
  await visit(page, '#/webhooks', page.getByRole('table', { name: 'Webhook endpoints' }).or(page.getByText('No endpoints yet.')));
  await t.check(page, 'webhooks');

  t.at('jobs: charts and a dead job retried');
  await visit(page, '#/jobs', page.getByRole('table', { name: /Queues as of/ }));
  await page.locator('.uplot canvas').first().waitFor();
  await page.getByRole('table', { name: 'Dead-lettered jobs, newest first' }).waitFor();
  await t.check(page, 'jobs');
  await page.getByRole('button', { name: /^Retry job / }).first().click();
  await page.getByRole('status').getByText(/is back in its queue/).waitFor();

  t.at('recommendations');
  await visit(
    page,
    `#/recommendations?product=${order.items[0].product_id}`,
    page.getByRole('table', { name: /^Bought with/ }).or(page.getByText(/was never bought together/)),
  );
  await page.getByText(/Never rebuilt|Scoring/).first().waitFor();
  await t.check(page, 'recommendations');

  t.at('phone width');
  const phone = await t.open({ phone: true });
  await phone.goto(`${base}/admin/`);
  await phone.getByRole('heading', { level: 1, name: 'Sign in to the admin console' }).waitFor();
  await t.check(phone, 'sign-in (phone)');
  await signInAs(phone, env.ADMIN_EMAIL, env.ADMIN_PASSWORD);
  await phone.getByRole('heading', { level: 1, name: 'Products' }).waitFor();
  await visit(phone, `#/orders/${order.id}`, phone.getByRole('table', { name: 'Refunds of this order' }));
  await t.check(phone, 'order detail (phone)');
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no sideways scrolling at phone width (${overflow} px too wide)`);
  console.log(`  console pages ready in: ${pageTimes.map((p) => `${p.page} ${p.ready_ms} ms`).join(', ')}`);
});

await finish();
