// Builds the storefront and the admin console (docs/web.md): one esbuild bundle per app, minified,
// with content-hashed file names under <out>/assets/, and one HTML page per app (<out>/store.html,
// <out>/admin.html) that names only same-origin files, and a gzip copy of each asset (<name>.gz).
// Fails when a page's JavaScript is over the budget (150 KB gzip). Writes <out>/budget.json with
// each page's sizes.
//
//   node web/build.mjs --out build/release/src/app/web
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: options } = parseArgs({ options: { out: { type: 'string' } } });
if (!options.out) {
  process.stderr.write('usage: node web/build.mjs --out DIR\n');
  process.exit(2);
}
const out = path.resolve(options.out);
const assets = path.join(out, 'assets');
const kBudgetBytes = 150 * 1024;

const apps = [
  { name: 'store', entry: 'store/main.tsx', title: 'Emporium' },
  { name: 'admin', entry: 'admin/main.tsx', title: 'Emporium admin' },
];

fs.rmSync(assets, { recursive: true, force: true });
fs.mkdirSync(assets, { recursive: true });

const gzipSize = (file) => zlib.gzipSync(fs.readFileSync(file), { level: 9 }).length;

const budget = {};
let over = false;
for (const app of apps) {
  const result = await esbuild.build({
    entryPoints: { [app.name]: path.join(here, app.entry) },
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2020',
    outdir: assets,
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) => path.resolve(f));
  const script = outputs.find((f) => f.endsWith('.js'));
  const style = outputs.find((f) => f.endsWith('.css'));
  const url = (f) => `/assets/${path.basename(f)}`;
  const html = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${app.title}</title>`,
    '<link rel="icon" href="data:,">',
    style ? `<link rel="stylesheet" href="${url(style)}">` : '',
    `<script type="module" src="${url(script)}"></script>`,
    '</head>',
    '<body>',
    '<noscript>This shop needs JavaScript.</noscript>',
    '<div id="app"></div>',
    '</body>',
    '</html>',
    '',
  ].filter((line) => line !== '').join('\n');
  fs.writeFileSync(path.join(out, `${app.name}.html`), html);
  // Pre-compressed copies, served to browsers that accept gzip (src/http/web_routes.cpp).
  for (const file of [script, style].filter(Boolean)) {
    fs.writeFileSync(`${file}.gz`, zlib.gzipSync(fs.readFileSync(file), { level: 9 }));
  }
  const js = gzipSize(script);
  budget[app.name] = { js_gzip_bytes: js, css_gzip_bytes: style ? gzipSize(style) : 0, script: url(script) };
  console.log(`web: ${app.name}: ${url(script)} ${(js / 1024).toFixed(1)} KB gzip`);
  if (js > kBudgetBytes) {
    process.stderr.write(`web: ${app.name}'s JavaScript is ${js} bytes gzip, over the ${kBudgetBytes}-byte budget\n`);
    over = true;
  }
}
if (over) {
  // No page is left behind: the build system would otherwise take them as up to date next time.
  for (const app of apps) fs.rmSync(path.join(out, `${app.name}.html`), { force: true });
  fs.rmSync(path.join(out, 'budget.json'), { force: true });
  process.exit(1);
}
fs.writeFileSync(path.join(out, 'budget.json'), JSON.stringify(budget, null, 2) + '\n');
