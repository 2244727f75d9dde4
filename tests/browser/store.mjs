// The storefront, end to end, as a shopper would use it (docs/web.md): a guest finds a product by
// searching with a typo, picks a size, adds it to the cart, creates an account (the cart follows),
// checks out with the sandbox token tok_ok, sees the order paid and downloads the PDF receipt. A
// second scenario has the cart change under the checkout page (409 cart_changed, then the retry
// goes through with a new Idempotency-Key), pays with tok_declined and sees it fail, then pays
// again; a third lets a cart hold lapse (announced) and removes the line (focus stays on the
// page). Every page type gets an axe scan and its
// load time (t.check: each page type after a full load of it), two at phone width.
//
//   EMPORIUM_URL=… ADMIN_EMAIL=… ADMIN_PASSWORD=… node tests/browser/store.mjs
import fs from 'node:fs';

import { assert, base, env, finish, scenario } from './harness.mjs';

const api = `${base}/api/v1`;
const kCountry = 'NL';
const kShippingName = 'Storefront standard';
const kPassword = 'correct horse battery';

async function json(path, init = {}) {
  const response = await fetch(`${api}${path}`, {
    ...init,
    headers: { 'Content-Type': 'application/json', ...(init.headers ?? {}) },
  });
  const body = response.headers.get('content-type')?.includes('json') ? await response.json() : undefined;
  return { status: response.status, body };
}

// Setup through the API with the admin account: a shipping option for the country the scenario
// ships to (made once; later runs find it).
async function setUpShipping() {
  const login = await json('/auth/login', {
    method: 'POST',
    body: JSON.stringify({ email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD }),
  });
  assert.equal(login.status, 200, `admin login: ${JSON.stringify(login.body)}`);
  const auth = { Authorization: `Bearer ${login.body.access_token}` };
  const list = await json('/admin/shipping-options', { headers: auth });
  assert.equal(list.status, 200, `shipping options: ${JSON.stringify(list.body)}`);
  if (list.body.items.some((o) => o.country === kCountry && o.name === kShippingName && o.is_active)) return;
  const made = await json('/admin/shipping-options', {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ country: kCountry, name: kShippingName, currency: 'USD', base_cents: 495 }),
  });
  assert.ok(made.status === 201 || made.status === 409, `shipping option: ${made.status} ${JSON.stringify(made.body)}`);
}

// One letter of a word changed (a vowel for another, else the next letter), never the first.
function typo(word) {
  const i = Math.max(1, Math.floor(word.length / 2));
  const c = word[i].toLowerCase();
  const swap = { a: 'e', e: 'a', i: 'o', o: 'i', u: 'a' }[c] ?? (c === 'z' ? 'y' : String.fromCharCode(c.charCodeAt(0) + 1));
  return word.slice(0, i) + swap + word.slice(i + 1);
}

// A product with at least two sizes in stock, and a one-letter typo of a word of its name that the
// search still finds it by (among the first suggestions). Found through the public API.
async function findProduct() {
  const ranked = await json('/products?sort=rank&in_stock=true&limit=60');
  assert.equal(ranked.status, 200);
  for (const listed of ranked.body.items) {
    const product = (await json(`/products/${listed.id}`)).body;
    const size = product.options?.find((o) => /size/i.test(o.name));
    if (!size || product.options.length !== 1) continue;
    const live = (await json(`/products/${listed.id}/variants`)).body.items;
    const buyable = live.filter((v) => v.available >= 2 && !v.is_default);
    if (buyable.length === 0) continue;
    const words = [...new Set(product.name.split(/\s+/).filter((w) => /^[A-Za-z]{6,}$/.test(w)))];
    for (const word of words) {
      const q = typo(word);
      const found = await json(`/products?q=${encodeURIComponent(q)}&sort=relevance&limit=6`);
      if (found.status === 200 && found.body.items.some((p) => p.id === product.id)) {
        const variant = buyable[0];
        return { product, q, size: variant.options[0].value, variant };
      }
    }
  }
  throw new Error('no product with sizes that a typo finds');
}

// A full load of the page as it is (the session and cart survive it), so that the next t.check
// times this page type rather than the first page of the visit; then waits for its content.
async function reload(page, ...ready) {
  await page.reload();
  for (const locator of ready) await locator.waitFor();
}

await setUpShipping();
const target = await findProduct();
const email = `shopper-${Date.now()}-${process.pid}@example.com`;
console.log(`# product ${target.product.id} "${target.product.name}", typo "${target.q}", size ${target.size}, ${email}`);

await scenario('guest finds, buys after signing up, pays and gets the receipt', async (t) => {
  const page = await t.open();

  t.at('home');
  await page.goto(`${base}/`);
  await page.getByRole('heading', { level: 1, name: 'Welcome to Emporium' }).waitFor();
  await page.getByRole('heading', { name: 'Popular right now' }).waitFor();
  await page.locator('.product-grid li').first().waitFor();
  await t.check(page, 'home');

  t.at('category');
  const categories = page.getByRole('region', { name: 'Shop by category' }).getByRole('link');
  const categoryName = (await categories.first().textContent()).trim();
  await categories.first().click();
  await page.getByRole('heading', { level: 1, name: categoryName }).waitFor();
  await page.getByRole('status').filter({ hasText: /Showing \d+ of/ }).waitFor();
  await page.getByRole('navigation', { name: 'Price' }).getByRole('link').first().click();
  await page.waitForFunction(() => location.hash.includes('min='));
  await reload(page, page.getByRole('heading', { level: 1, name: categoryName }), page.getByRole('status').filter({ hasText: /Showing \d+ of/ }));
  await t.check(page, 'category');

  t.at('search as you type, with a typo (keyboard only)');
  const box = page.getByRole('searchbox', { name: 'Search products' });
  await box.focus();
  await page.keyboard.type(target.q, { delay: 30 });
  const suggestion = page.getByRole('list', { name: 'Suggestions' }).getByRole('link', { name: target.product.name });
  await suggestion.waitFor();
  await page.keyboard.press('ArrowDown');
  assert.ok(await page.getByRole('list', { name: 'Suggestions' }).getByRole('link').first().evaluate((a) => a === document.activeElement));
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: `Results for “${target.q}”` }).waitFor();
  const result = page.getByRole('region', { name: 'Products' }).getByRole('link', { name: target.product.name, exact: true });
  await reload(page, result);
  await t.check(page, 'search results');
  await result.focus();
  await page.keyboard.press('Enter');

  t.at('product: pick a size, add to cart');
  await page.getByRole('heading', { level: 1, name: target.product.name }).waitFor();
  const size = page.getByRole('group', { name: 'Size' }).getByRole('radio', { name: target.size, exact: true });
  await size.focus();
  await page.keyboard.press('Space');
  assert.ok(await size.isChecked(), 'the size is chosen');
  await page.getByText(`SKU ${target.variant.sku}`).waitFor();
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByRole('status').filter({ hasText: `Added 1 × ${target.product.name} (Size ${target.size}) to your cart.` }).waitFor();
  await page.getByRole('link', { name: /^Cart \(1\)/ }).waitFor();
  await reload(page, page.getByRole('heading', { level: 1, name: target.product.name }), page.getByRole('heading', { name: 'Reviews' }));
  await t.check(page, 'product');

  t.at('cart: the hold counts down');
  await page.getByRole('link', { name: /^Cart \(1\)/ }).click();
  await page.getByRole('heading', { level: 1, name: 'Your cart' }).waitFor();
  await reload(page, page.getByRole('heading', { level: 1, name: 'Your cart' }));
  const line = page.getByRole('list', { name: 'Items in your cart' }).getByRole('listitem');
  await line.getByRole('link', { name: target.product.name }).waitFor();
  await line.getByText(`Size ${target.size} · SKU ${target.variant.sku}`).waitFor();
  const timer = line.getByRole('timer');
  const before = await timer.textContent();
  assert.match(before, /^\d+:\d\d$/);
  await page.waitForFunction((was) => document.querySelector('[role=timer]')?.textContent !== was, before, { timeout: 3000 });
  await t.check(page, 'cart');

  t.at('checkout as a guest asks to sign in');
  await page.getByRole('link', { name: 'Go to checkout' }).click();
  await page.getByRole('link', { name: 'sign in or create an account' }).click();
  await reload(page, page.getByRole('heading', { level: 1, name: 'Sign in' }));
  await t.check(page, 'sign in');

  t.at('sign up (the guest cart follows)');
  await page.getByRole('button', { name: 'Create an account' }).click();
  await page.getByRole('heading', { level: 1, name: 'Create an account' }).waitFor();
  await page.getByLabel('Your name').fill('Test Shopper');
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(kPassword);
  await t.check(page, 'sign up');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { level: 1, name: 'Checkout' }).waitFor();
  await page.getByRole('link', { name: 'Account', exact: true }).waitFor();
  await page.getByRole('link', { name: /^Cart \(1\)/ }).waitFor();

  t.at('checkout');
  await reload(page, page.getByRole('heading', { level: 1, name: 'Checkout' }), page.getByText('Items (1)'));
  await page.getByLabel('Street and number').fill('Keizersgracht 1');
  await page.getByLabel('City').fill('Amsterdam');
  await page.getByLabel('Postal code').fill('1015 CJ');
  await page.getByLabel('Country').selectOption(kCountry);
  const option = page.getByRole('radio', { name: new RegExp(`^${kShippingName}`) });
  await option.check();
  await page.getByText(/^Shipping$/).waitFor();
  await page.getByRole('radio', { name: /tok_ok/ }).check();
  await t.check(page, 'checkout');
  await page.getByRole('button', { name: /^Place order and pay/ }).click();

  t.at('order: paid (the capture runs in the background)');
  await page.waitForFunction(() => /^#\/orders\/\d+$/.test(location.hash));
  const orderId = Number((await page.evaluate(() => location.hash)).split('/').pop());
  await page.getByRole('heading', { level: 1, name: `Order #${orderId}` }).waitFor();
  await page.getByRole('status').filter({ hasText: 'Status: Paid' }).waitFor({ timeout: 30_000 });
  await reload(page, page.getByRole('status').filter({ hasText: 'Status: Paid' }));
  await page.getByRole('cell', { name: new RegExp(`${target.product.name}.*Size ${target.size}`) }).waitFor();
  await t.check(page, 'order detail');

  t.at('receipt (PDF)');
  const download = page.waitForEvent('download', { timeout: 60_000 });
  await page.getByRole('button', { name: 'Download receipt (PDF)' }).click();
  const file = await download;
  assert.equal(file.suggestedFilename(), `receipt-${orderId}.pdf`);
  const pdf = fs.readFileSync(await file.path());
  assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
  await page.getByRole('status').filter({ hasText: 'Receipt downloaded' }).waitFor();

  t.at('account: orders and recommendations');
  await page.getByRole('link', { name: 'Account', exact: true }).click();
  await reload(page, page.getByRole('heading', { level: 1, name: 'Your account' }));
  await page.getByRole('link', { name: `Order #${orderId}` }).waitFor();
  await page.getByRole('heading', { name: 'Recommended for you' }).waitFor();
  await page.getByRole('region', { name: 'Recommended for you' }).locator('.product-grid, p').first().waitFor();
  await t.check(page, 'account');

  t.at('phone width: product page');
  const phone = await t.open({ phone: true });
  await phone.goto(`${base}/#/p/${target.product.id}`);
  await phone.getByRole('heading', { level: 1, name: target.product.name }).waitFor();
  await phone.getByRole('heading', { name: 'Reviews' }).waitFor();
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling at 390px (overflow ${overflow}px)`);
  await t.check(phone, 'product (phone)');

  t.at('phone width: home');
  await phone.goto(`${base}/`);
  await phone.locator('.product-grid li').first().waitFor();
  assert.ok((await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)) <= 0, 'home fits 390px');
  await t.check(phone, 'home (phone)');
});

await scenario('a declined card fails visibly and can be paid again', async (t) => {
  const page = await t.open();
  t.at('sign in');
  await page.goto(`${base}/#/signin`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(kPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();

  t.at('add to cart');
  await page.goto(`${base}/#/p/${target.product.id}`);
  await page.getByRole('heading', { level: 1, name: target.product.name }).waitFor();
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByRole('status').filter({ hasText: 'Added 1 ×' }).waitFor();

  t.at('checkout with tok_declined');
  await page.goto(`${base}/#/checkout`);
  await page.getByLabel('Street and number').fill('Keizersgracht 1');
  await page.getByLabel('City').fill('Amsterdam');
  await page.getByLabel('Postal code').fill('1015 CJ');
  await page.getByLabel('Country').selectOption(kCountry);
  await page.getByRole('radio', { name: new RegExp(`^${kShippingName}`) }).check();
  await page.getByRole('radio', { name: /tok_declined/ }).check();
  await page.getByText('Items (1)').waitFor();

  t.at('the cart changes meanwhile (another tab): 409 cart_changed, then the retry places the order');
  // Through the API as the same customer: one more unit, so the total the page shows is stale.
  const login = await json('/auth/login', { method: 'POST', body: JSON.stringify({ email, password: kPassword }) });
  assert.equal(login.status, 200, `shopper login: ${JSON.stringify(login.body)}`);
  const auth = { Authorization: `Bearer ${login.body.access_token}` };
  const open = await json('/carts', { method: 'POST', headers: auth });
  assert.ok(open.status === 200 || open.status === 201, `open cart: ${open.status}`);
  const cartLine = open.body.lines[0];
  const more = await json(`/carts/${open.body.id}/lines/${cartLine.variant_id}`, {
    method: 'PUT',
    headers: auth,
    body: JSON.stringify({ quantity: cartLine.quantity + 1 }),
  });
  assert.equal(more.status, 200, `one more unit: ${more.status} ${JSON.stringify(more.body)}`);
  const answers = [];
  page.on('response', (r) => {
    if (/\/carts\/\d+\/checkout$/.test(r.url())) answers.push(r.status());
  });
  await page.getByRole('button', { name: /^Place order and pay/ }).click();
  await page.getByRole('alert').filter({ hasText: /total is \d+/ }).waitFor();
  // The page reloaded the cart: the new total is on the button; the address is untouched.
  await page.getByText('Items (2)').waitFor();
  await page.getByRole('button', { name: /^Place order and pay/ }).click();
  await page.waitForFunction(() => /^#\/orders\/\d+$/.test(location.hash));
  assert.ok(answers.length === 2 && answers[0] === 409 && answers[1] < 300, `checkout answers: ${answers.join(', ')}`);
  await page.getByRole('status').filter({ hasText: 'Status: Payment failed' }).waitFor({ timeout: 30_000 });
  await page.getByText(/The payment was declined/).waitFor();
  await t.check(page, 'order (declined)');

  t.at('pay again with tok_ok');
  await page.getByRole('radio', { name: /tok_ok/ }).check();
  await page.getByRole('button', { name: /^Pay / }).click();
  await page.getByRole('status').filter({ hasText: 'Status: Paid' }).waitFor({ timeout: 30_000 });
});

await scenario('a lapsed hold says so', async (t) => {
  // The page counts holds down on the server's clock (the Date header of the cart's answers): the
  // cart's answers are given a Date 16 minutes ahead, past the 15-minute hold. (Moving the
  // browser's clock instead races with the page's next cart answer, which measures the skew again.)
  const page = await t.open();
  t.at('add to cart');
  await page.goto(`${base}/#/p/${target.product.id}`);
  await page.getByRole('heading', { level: 1, name: target.product.name }).waitFor();
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByRole('status').filter({ hasText: 'Added 1 ×' }).waitFor();
  t.at('cart, 16 minutes later');
  await page.route('**/api/v1/carts/**', async (route) => {
    const response = await route.fetch();
    const date = new Date(Date.parse(response.headers()['date']) + 16 * 60_000).toUTCString();
    await route.fulfill({ response, headers: { ...response.headers(), date } });
  });
  await page.getByRole('link', { name: 'View cart' }).click();
  await page.getByText('Hold lapsed: these units are no longer reserved for you').waitFor();
  await page.getByRole('button', { name: 'Hold my items again' }).waitFor();
  // Said once in the page's status region (there since the first render), not only shown.
  await page.getByRole('status').filter({ hasText: 'The hold on some of your items ran out' }).waitFor();

  t.at('remove the line: focus stays on the page, the removal is announced');
  await page.getByRole('list', { name: 'Items in your cart' }).getByRole('button', { name: /^Remove / }).click();
  await page.getByRole('status').filter({ hasText: 'removed from your cart.' }).waitFor();
  await page.getByText('Your cart is empty.').waitFor();
  await page.waitForFunction(() => document.activeElement?.tagName === 'H1');
});

await finish();
