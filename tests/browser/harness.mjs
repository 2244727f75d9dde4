// The browser tests' harness (docs/testing.md, "Browser tests"): Debian's Chromium, headless, driven
// by playwright-core against a running Emporium (EMPORIUM_URL). A scenario file calls
// `scenario(name, fn)` once per scenario; each gets a fresh browser context (no shared cookies or
// storage). What fails a scenario, besides a failed step:
//   - a page error, a console error (other than a 4xx answer's), a 5xx answer, or a
//     Content-Security-Policy violation;
//   - a request to another origin;
//   - an axe-core scan (t.check) with a serious or critical violation.
// On failure the page's screenshot and HTML go to BROWSER_ARTIFACTS. Every t.check also records the
// page's load time (Navigation Timing: loadEventEnd of the last full load) into
// BROWSER_ARTIFACTS/timings-<file>.json, which docs/benchmarks.md quotes.
//
//   EMPORIUM_URL=http://127.0.0.1:8080 ADMIN_EMAIL=… ADMIN_PASSWORD=… node tests/browser/store.mjs
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const base = (process.env.EMPORIUM_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
export const env = process.env;
const artifacts = path.resolve(process.env.BROWSER_ARTIFACTS ?? 'browser-artifacts');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
// Each step's wait for an element or a navigation (Playwright's default is 30 s).
const kStepTimeoutMs = Number(process.env.BROWSER_STEP_TIMEOUT_MS ?? 10_000);

let browser;
const results = [];
const timings = [];
const file = path.basename(process.argv[1] ?? 'browser', '.mjs');

async function theBrowser() {
  browser ??= await chromium.launch({
    executablePath,
    headless: true,
    // As root in a container Chromium needs --no-sandbox; the pages are our own.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run'],
  });
  return browser;
}

class Run {
  constructor(name, context) {
    this.name = name;
    this.context = context;
    this.problems = [];
    this.pages = [];
    this.contexts = [context];
    this.step = 'start';
  }

  // A new tab: 1280×800 by default, `{phone: true}` for 390×844. `{fresh: true}` opens it in a
  // browser context of its own: an empty cache, no cookies, no storage (a first visit).
  async open(options = {}) {
    let context = this.context;
    if (options.fresh) {
      context = await this.context.browser().newContext({ baseURL: base });
      this.contexts.push(context);
    }
    const page = await context.newPage();
    if (options.phone) await page.setViewportSize({ width: 390, height: 844 });
    page.setDefaultTimeout(kStepTimeoutMs);
    page.on('pageerror', (e) => this.problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // Chromium logs every 4xx answer as "Failed to load resource"; the apps show those to the
      // user (a 409, a 412, a 422 are part of the flows). A 5xx fails the scenario below.
      if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
        this.problems.push(`console error: ${m.text()}`);
      }
    });
    page.on('response', (r) => {
      if (r.status() >= 500) this.problems.push(`${r.status()} from ${r.request().method()} ${r.url()}`);
    });
    page.on('request', (r) => {
      const url = r.url();
      if (!url.startsWith(base) && !url.startsWith('data:') && !url.startsWith('blob:')) {
        this.problems.push(`request to another origin: ${url}`);
      }
    });
    this.pages.push(page);
    return page;
  }

  // Names the step that runs next (in failure messages and screenshot names).
  at(step) {
    this.step = step;
  }

  // axe-core on the page as it is now (no serious or critical violation), and its load time;
  // `extra` goes into the page's timing record.
  async check(page, label, extra = {}) {
    this.at(`check ${label}`);
    // Evaluated through the DevTools protocol, which the page's CSP does not govern (an inline
    // <script> would be refused, as it should).
    const result = await page.evaluate(async (source) => {
      if (!window.axe) (0, eval)(source);
      return window.axe.run(document, { resultTypes: ['violations'] });
    }, axeSource);
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    const timing = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      if (!nav) return null;
      // Bytes over the wire since the last full load: the page, its assets, its API answers.
      const bytes = [nav, ...performance.getEntriesByType('resource')].reduce((sum, e) => sum + (e.transferSize ?? 0), 0);
      return { load_ms: Math.round(nav.loadEventEnd - nav.startTime), transfer_bytes: bytes };
    });
    timings.push({
      scenario: this.name, page: label, ...timing, ...extra,
      axe_violations: result.violations.length, axe_serious: bad.length,
    });
    if (bad.length > 0) {
      const lines = bad.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`);
      throw new Error(`axe on ${label}:\n  ${lines.join('\n  ')}`);
    }
    if (timing && timing.load_ms >= 1000) throw new Error(`${label} took ${timing.load_ms} ms to load (budget 1000 ms)`);
  }

  // Fails the scenario when any page reported a problem so far.
  clean() {
    assert.deepEqual(this.problems, [], `browser problems in ${this.name}`);
  }
}

// One scenario: `fn(t)` with t.open(), t.at(step), t.check(page, label), t.clean().
export async function scenario(name, fn) {
  const started = Date.now();
  const context = await (await theBrowser()).newContext({ acceptDownloads: true, baseURL: base });
  const t = new Run(name, context);
  try {
    await fn(t);
    t.clean();
    results.push({ name, ok: true, ms: Date.now() - started });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    results.push({ name, ok: false, ms: Date.now() - started });
    console.log(`FAIL ${name} at step "${t.step}": ${error.stack ?? error}`);
    if (t.problems.length) console.log(`  browser problems:\n    ${t.problems.join('\n    ')}`);
    fs.mkdirSync(artifacts, { recursive: true });
    const stem = `${file}-${name}`.replace(/[^A-Za-z0-9_.-]+/g, '_');
    for (const [i, page] of t.pages.entries()) {
      if (page.isClosed()) continue;
      await page.screenshot({ path: path.join(artifacts, `${stem}-${i}.png`), fullPage: true }).catch(() => {});
      fs.writeFileSync(path.join(artifacts, `${stem}-${i}.html`), await page.content().catch(() => ''));
    }
    console.log(`  screenshots: ${artifacts}/${stem}-*.png`);
  } finally {
    for (const c of t.contexts) await c.close();
  }
}

// Closes the browser, writes the timings, sets the exit status. Call once at the end of the file.
export async function finish() {
  await browser?.close();
  fs.mkdirSync(artifacts, { recursive: true });
  fs.writeFileSync(path.join(artifacts, `timings-${file}.json`), JSON.stringify(timings, null, 2) + '\n');
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${results.length - failed}/${results.length} scenarios passed`);
  if (failed > 0 || results.length === 0) process.exitCode = 1;
}

export { assert };
