// Both pages load with their CSP, scan clean and name only same-origin files.
import { assert, base, finish, scenario } from './harness.mjs';

await scenario('pages load', async (t) => {
  const page = await t.open();
  t.at('storefront');
  const store = await page.goto(`${base}/`);
  assert.match(store.headers()['content-security-policy'] ?? '', /default-src 'self'/);
  await page.locator('h1').first().waitFor();
  await t.check(page, 'storefront');
  t.at('console');
  await page.goto(`${base}/admin/`);
  await page.locator('h1').first().waitFor();
  await t.check(page, 'admin console');
});

await finish();
