// The contract test (ctest `contract_e2e`, docs/testing.md "Contract tests (OpenAPI)"): every HTTP
// exchange the e2e tests recorded through test::http_call (EMPORIUM_CONTRACT_LOG, one <pid>.jsonl
// per process) is checked against the OpenAPI document the server serves at /openapi.json.
//
// For each exchange: the operation is found by path template and method (a target that matches no
// documented path, or a documented path without that method, is counted and listed, not checked);
// the status must be documented for the operation (exact code, then 4XX-style range, then
// `default`); the response's media type must be one the response documents (no body when it
// documents none); a JSON body must validate against the documented schema (JSON Schema 2020-12,
// ajv with ajv-formats). Prints the coverage of (operation × documented status) pairs, the members
// of JSON bodies that their schema does not declare (not failures), and every failure grouped by
// operation, status and message; exits 1 on any failure or when nothing was recorded, 2 on bad
// usage.
//
//   node tests/contract/validate.mjs --doc openapi.json --log <dir> [--report report.json]
//                                    [--max-failures 80]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const kMethods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const kSchemaRoot = 'urn:emporium:openapi';
// OpenAPI 3.1 keywords a Schema Object may carry besides JSON Schema's own.
const kOpenApiKeywords = ['discriminator', 'xml', 'externalDocs', 'example'];
const kErrorsPerExchange = 5;
// ajv keywords whose message leaves out what failed (the extra member, the allowed values).
const kParamsWorthShowing = new Set(['additionalProperties', 'unevaluatedProperties', 'enum', 'const',
  'propertyNames', 'dependentRequired']);
const kExcerpt = 300;

function usage(message) {
  process.stderr.write(`validate.mjs: ${message}\n` +
    'usage: node validate.mjs --doc openapi.json --log <dir> [--report out.json] [--max-failures N]\n');
  process.exit(2);
}

let options;
try {
  ({ values: options } = parseArgs({
    options: {
      doc: { type: 'string' },
      log: { type: 'string' },
      report: { type: 'string' },
      'max-failures': { type: 'string', default: '80' },
    },
  }));
} catch (e) {
  usage(e.message);
}
if (!options.doc || !options.log) usage('--doc and --log are required');
const maxFailures = Number.parseInt(options['max-failures'], 10);
if (!(maxFailures > 0)) usage('--max-failures must be a positive integer');

const doc = JSON.parse(fs.readFileSync(options.doc, 'utf8'));

// ---- The document: path templates, operations, local references ---------------------------------

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// A local JSON reference (#/a/b) in the document.
function resolvePointer(ref) {
  if (!ref.startsWith('#/')) throw new Error(`only local references are supported: ${ref}`);
  let node = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(key in node)) {
      throw new Error(`unresolved reference ${ref}`);
    }
    node = node[key];
  }
  return node;
}

// Follows $ref of Response, Media Type and Path Item objects (not of schemas: ajv does those).
function deref(node) {
  const seen = new Set();
  while (node && typeof node === 'object' && typeof node.$ref === 'string') {
    if (seen.has(node.$ref)) throw new Error(`reference cycle at ${node.$ref}`);
    seen.add(node.$ref);
    node = resolvePointer(node.$ref);
  }
  return node;
}

const pathTemplates = [];
const operations = [];
for (const [template, rawItem] of Object.entries(doc.paths ?? {})) {
  const item = deref(rawItem);
  const parts = template.split(/(\{[^}/]+\})/).filter((p) => p !== '');
  const params = parts.filter((p) => p.startsWith('{')).length;
  const pattern = parts.map((p) => (p.startsWith('{') ? '([^/]+)' : escapeRegExp(p))).join('');
  const regex = new RegExp(`^${pattern}$`);
  const literal = template.replace(/\{[^}/]+\}/g, '').length;
  const entry = { template, regex, params, literal, operations: {} };
  for (const method of kMethods) {
    if (!item[method]) continue;
    const op = {
      key: `${method.toUpperCase()} ${template}`,
      method: method.toUpperCase(),
      template,
      operation: item[method],
      responses: {},
    };
    for (const [status, response] of Object.entries(item[method].responses ?? {})) {
      op.responses[status] = deref(response);
    }
    entry.operations[op.method] = op;
    operations.push(op);
  }
  pathTemplates.push(entry);
}
// Concrete paths win over templated ones (OpenAPI 3.1, Paths Object): fewer parameters first, then
// more literal characters.
pathTemplates.sort((a, b) => a.params - b.params || b.literal - a.literal);

function pathOf(target) {
  let t = target;
  if (/^https?:\/\//i.test(t)) {
    try {
      t = new URL(t).pathname;
    } catch {
      return null;
    }
  }
  if (!t.startsWith('/')) return null;
  return t.split(/[?#]/, 1)[0];
}

function findPath(target) {
  const p = pathOf(target);
  if (p === null) return null;
  return pathTemplates.find((entry) => entry.regex.test(p)) ?? null;
}

// The documented response for `status`: the exact code, then its range (4XX), then `default`.
function responseFor(op, status) {
  const code = String(status);
  const range = `${code[0]}XX`;
  for (const key of [code, range, range.toLowerCase(), 'default']) {
    if (op.responses[key]) return { key, response: op.responses[key] };
  }
  return null;
}

function mediaTypeOf(header) {
  if (header === null || header === undefined) return null;
  const type = String(header).split(';', 1)[0].trim().toLowerCase();
  return type === '' ? null : type;
}

function findMedia(content, media) {
  const keys = Object.keys(content);
  const lower = new Map(keys.map((k) => [k.toLowerCase(), k]));
  if (media === null) return null;
  if (lower.has(media)) return lower.get(media);
  const wildcard = `${media.split('/', 1)[0]}/*`;
  if (lower.has(wildcard)) return lower.get(wildcard);
  if (lower.has('*/*')) return lower.get('*/*');
  return null;
}

function isJsonMedia(media) {
  return media === 'application/json' || /^[a-z0-9.+-]+\/[a-z0-9.+-]*\+json$/.test(media);
}

// ---- JSON Schema validation ---------------------------------------------------------------------

const ajvWarnings = new Set();
const ajv = new Ajv2020({
  allErrors: true,
  strict: true,          // unknown keywords in a schema are a finding, not ignored
  strictTypes: false,    // OpenAPI schemas often omit "type" beside "properties"
  strictTuples: false,
  strictRequired: false,
  validateFormats: true,
  logger: { log() {}, warn: (m) => ajvWarnings.add(String(m)), error: (m) => ajvWarnings.add(String(m)) },
});
addFormats(ajv);
ajv.addVocabulary(kOpenApiKeywords);

// Formats are open-ended in OpenAPI: one ajv-formats does not know is accepted and listed.
const uncheckedFormats = new Set();
(function collectFormats(node) {
  if (Array.isArray(node)) {
    node.forEach(collectFormats);
  } else if (node && typeof node === 'object') {
    if (typeof node.format === 'string' && !ajv.formats[node.format] && !uncheckedFormats.has(node.format)) {
      uncheckedFormats.add(node.format);
      ajv.addFormat(node.format, true);
    }
    Object.values(node).forEach(collectFormats);
  }
})(doc);

// The document's components become one schema resource: #/components/schemas/... references in
// them, and in inline schemas (rewritten below), resolve against it. `components` is declared as a
// keyword only so that strict mode accepts this wrapper.
ajv.addVocabulary(['components']);
ajv.addSchema({ $id: kSchemaRoot, components: doc.components ?? {} });

function rebaseRefs(node) {
  if (Array.isArray(node)) return node.map(rebaseRefs);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    const local = (k === '$ref' || k === '$dynamicRef') && typeof v === 'string' && v.startsWith('#');
    out[k] = local ? kSchemaRoot + v : rebaseRefs(v);
  }
  return out;
}

const validators = new Map();
function validatorFor(key, schema) {
  if (!validators.has(key)) {
    try {
      validators.set(key, { validate: ajv.compile(rebaseRefs(schema)) });
    } catch (e) {
      validators.set(key, { error: e.message });
    }
  }
  return validators.get(key);
}

// Members of a JSON body that its schema does not declare. Not a failure (JSON Schema allows them
// unless the schema closes the object), but a sign that the document lags behind the code. An
// object schema without `properties`, or with additional/pattern/unevaluated properties of its own,
// is left alone; anyOf/oneOf/allOf branches all count as declaring their members.
function schemaBranches(schema, out = [], seen = new Set()) {
  const s = deref(schema);
  if (!s || typeof s !== 'object' || seen.has(s)) return out;
  seen.add(s);
  out.push(s);
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    if (Array.isArray(s[key])) for (const sub of s[key]) schemaBranches(sub, out, seen);
  }
  return out;
}

function collectUndeclared(instance, schema, at, out) {
  const branches = schemaBranches(schema);
  if (Array.isArray(instance)) {
    const items = branches.map((b) => b.items).filter((i) => i && typeof i === 'object');
    for (const element of instance) {
      for (const i of items) collectUndeclared(element, i, `${at}/*`, out);
    }
    return;
  }
  if (!instance || typeof instance !== 'object') return;
  const declared = new Map();
  let open = false;
  for (const b of branches) {
    for (const [name, sub] of Object.entries(b.properties ?? {})) {
      declared.set(name, [...(declared.get(name) ?? []), sub]);
    }
    if (b.additionalProperties !== undefined || b.patternProperties || b.unevaluatedProperties !== undefined) {
      open = true;
    }
  }
  if (declared.size === 0) return;
  for (const [name, value] of Object.entries(instance)) {
    if (declared.has(name)) {
      for (const sub of declared.get(name)) collectUndeclared(value, sub, `${at}/${name}`, out);
    } else if (!open) {
      out.add(`${at}/${name}`);
    }
  }
}

// ---- The recorded exchanges ---------------------------------------------------------------------

function readExchanges(dir) {
  let files;
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
  } catch {
    files = [];
  }
  const exchanges = [];
  const broken = [];
  for (const file of files) {
    const lines = fs.readFileSync(path.join(dir, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        exchanges.push(JSON.parse(line));
      } catch (e) {
        broken.push(`${file}:${i + 1}: ${e.message}`);
      }
    });
  }
  return { files, exchanges, broken };
}

function excerpt(text) {
  if (text === undefined || text === null) return '';
  const s = String(text).replace(/\s+/g, ' ');
  return s.length > kExcerpt ? `${s.slice(0, kExcerpt)}…` : s;
}

function describeBody(ex, prefix) {
  if (ex[`${prefix}_body`] !== undefined) return excerpt(ex[`${prefix}_body`]);
  const omitted = ex[`${prefix}_body_omitted`];
  if (omitted) return `<${omitted}, ${ex[`${prefix}_body_bytes`]} bytes>`;
  return '';
}

// Array indexes become * so that one mismatch repeated across a list is one failure.
function normalisePath(instancePath) {
  return (instancePath || '/').replace(/\/\d+(?=\/|$)/g, '/*');
}

const { files, exchanges, broken } = readExchanges(options.log);

const failures = new Map();
function fail(op, statusKey, kind, detail, ex) {
  const key = JSON.stringify([op, statusKey, kind, detail]);
  let group = failures.get(key);
  if (!group) {
    group = { operation: op, status: statusKey, kind, detail, count: 0, example: null };
    failures.set(key, group);
  }
  group.count += 1;
  if (!group.example && ex) {
    group.example = {
      test: ex.test ?? '',
      request: `${ex.method} ${ex.target}`,
      request_content_type: ex.request_content_type ?? null,
      request_body: describeBody(ex, 'request'),
      status: ex.status,
      response_content_type: ex.response_content_type ?? null,
      response_body: describeBody(ex, 'response'),
    };
  }
}
for (const line of broken) fail('(recorded log)', '-', 'log', `unreadable line ${line}`, null);

const exercised = new Map(operations.map((op) => [op.key, new Set()]));
const undocumentedPaths = new Map();
const undocumentedMethods = new Map();
const counts = { matched: 0, noPath: 0, noMethod: 0, binary: 0, tooLarge: 0, validated: 0 };
const tests = new Set();
const undeclared = new Map();

for (const ex of exchanges) {
  if (ex.test) tests.add(ex.test.split('.')[0]);
  const method = String(ex.method ?? '').toUpperCase();
  const target = String(ex.target ?? '');
  const entry = findPath(target);
  if (!entry) {
    counts.noPath += 1;
    const key = `${method} ${pathOf(target) ?? target}`;
    undocumentedPaths.set(key, (undocumentedPaths.get(key) ?? 0) + 1);
    continue;
  }
  const op = entry.operations[method];
  if (!op) {
    counts.noMethod += 1;
    const key = `${method} ${entry.template} → ${ex.status}`;
    undocumentedMethods.set(key, (undocumentedMethods.get(key) ?? 0) + 1);
    continue;
  }
  counts.matched += 1;

  const found = responseFor(op, ex.status);
  if (!found) {
    fail(op.key, String(ex.status), 'status',
      `status ${ex.status} is not documented (documented: ${Object.keys(op.responses).join(', ') || 'none'})`,
      ex);
    continue;
  }
  exercised.get(op.key).add(found.key);

  const media = mediaTypeOf(ex.response_content_type);
  const bytes = ex.response_body_bytes ?? (ex.response_body ?? '').length;
  const content = found.response.content ?? {};
  if (method === 'HEAD' || Object.keys(content).length === 0) {
    if (method !== 'HEAD' && bytes > 0) {
      fail(op.key, found.key, 'content-type',
        `the response documents no body but has one (${media ?? 'no Content-Type'})`, ex);
    }
    continue;
  }
  const mediaKey = findMedia(content, media);
  if (!mediaKey) {
    fail(op.key, found.key, 'content-type',
      `Content-Type ${media ?? '(none)'} is not documented (documented: ${Object.keys(content).join(', ')})`,
      ex);
    continue;
  }
  const mediaObject = deref(content[mediaKey]) ?? {};
  if (!isJsonMedia(mediaKey.toLowerCase()) || mediaObject.schema === undefined) continue;
  if (ex.response_body_omitted === 'binary') {
    counts.binary += 1;
    fail(op.key, found.key, 'body', `documented as ${mediaKey} but the body is not UTF-8 text`, ex);
    continue;
  }
  if (ex.response_body_omitted === 'size') {
    counts.tooLarge += 1;
    continue;
  }
  let body;
  try {
    body = JSON.parse(ex.response_body ?? '');
  } catch (e) {
    fail(op.key, found.key, 'body', `documented as ${mediaKey} but the body is not JSON (${e.message})`, ex);
    continue;
  }
  const v = validatorFor(`${op.key} ${found.key} ${mediaKey}`, mediaObject.schema);
  if (v.error) {
    fail(op.key, found.key, 'schema', `the documented schema does not compile: ${v.error}`, ex);
    continue;
  }
  counts.validated += 1;
  const extra = new Set();
  try {
    collectUndeclared(body, mediaObject.schema, '', extra);
  } catch {
    // defensive only: a schema that ajv compiled has no unresolvable reference
  }
  if (extra.size) {
    const key = `${op.key} → ${found.key}`;
    if (!undeclared.has(key)) undeclared.set(key, new Set());
    for (const member of extra) undeclared.get(key).add(member);
  }
  if (!v.validate(body)) {
    const seen = new Set();
    for (const err of v.validate.errors.slice(0, kErrorsPerExchange)) {
      const extra = kParamsWorthShowing.has(err.keyword) ? ` ${JSON.stringify(err.params)}` : '';
      const where = err.schemaPath.startsWith(kSchemaRoot)
        ? err.schemaPath.slice(kSchemaRoot.length)
        : err.schemaPath;
      const detail = `${normalisePath(err.instancePath)}: ${err.message}${extra} (${where})`;
      if (seen.has(detail)) continue;
      seen.add(detail);
      fail(op.key, found.key, 'schema', detail, ex);
    }
  }
}

// ---- Report -------------------------------------------------------------------------------------

const out = [];
const say = (line = '') => out.push(line);

const pairs = operations.reduce((n, op) => n + Object.keys(op.responses).length, 0);
let hit = 0;
const missing = [];
for (const op of operations) {
  const seen = exercised.get(op.key);
  hit += Object.keys(op.responses).filter((s) => seen.has(s)).length;
  const notSeen = Object.keys(op.responses).filter((s) => !seen.has(s));
  if (notSeen.length) {
    missing.push(`${op.key}: ${notSeen.join(', ')}${seen.size === 0 ? '  (never called)' : ''}`);
  }
}
const called = operations.filter((op) => exercised.get(op.key).size > 0).length;
const pct = (a, b) => (b === 0 ? '0.0' : ((100 * a) / b).toFixed(1));

say(`contract: ${exchanges.length} exchanges recorded by ${tests.size} test suites ` +
  `(${files.length} files in ${options.log})`);
say(`document: ${options.doc} (openapi ${doc.openapi}, ${operations.length} operations)`);
say(`  matched an operation: ${counts.matched}; schema-validated JSON bodies: ${counts.validated}` +
  (counts.tooLarge ? `; too large to validate: ${counts.tooLarge}` : ''));
say(`  no documented path: ${counts.noPath}; documented path, undocumented method: ${counts.noMethod}`);
if (uncheckedFormats.size) {
  say(`  formats not checked (unknown to ajv-formats): ${[...uncheckedFormats].join(', ')}`);
}
for (const w of ajvWarnings) say(`  ajv: ${w}`);
say();
say(`coverage: ${hit} of ${pairs} (operation × documented status) pairs exercised (${pct(hit, pairs)}%); ` +
  `${called} of ${operations.length} operations called`);
if (missing.length) {
  say('not exercised:');
  for (const m of missing) say(`  ${m}`);
}
if (undocumentedPaths.size) {
  const list = [...undocumentedPaths.entries()].sort((a, b) => b[1] - a[1]);
  say(`requests to no documented path (${counts.noPath}, not checked):`);
  for (const [k, n] of list.slice(0, 30)) say(`  ${k}  ×${n}`);
  if (list.length > 30) say(`  … and ${list.length - 30} more`);
}
if (undocumentedMethods.size) {
  say(`requests with an undocumented method on a documented path (${counts.noMethod}, not checked):`);
  for (const [k, n] of [...undocumentedMethods.entries()].sort((a, b) => b[1] - a[1])) say(`  ${k}  ×${n}`);
}
if (undeclared.size) {
  say(`members the documented schema does not declare (not failures), by operation and status:`);
  for (const [k, members] of [...undeclared.entries()].sort()) {
    const list = [...members].sort();
    say(`  ${k}: ${list.slice(0, 12).join(', ')}${list.length > 12 ? `, … (${list.length} in all)` : ''}`);
  }
}

const groups = [...failures.values()].sort((a, b) =>
  a.operation.localeCompare(b.operation) || a.status.localeCompare(b.status) ||
  a.kind.localeCompare(b.kind) || a.detail.localeCompare(b.detail));
const occurrences = groups.reduce((n, g) => n + g.count, 0);
say();
if (exchanges.length === 0) {
  say(`FAIL: no exchange recorded in ${options.log}: run the e2e tests first (ctest -L e2e), with ` +
    'EMPORIUM_CONTRACT_LOG set by CTest');
} else if (groups.length === 0) {
  say(`PASS: every one of the ${counts.matched} exchanges that matched an operation follows the document`);
} else {
  say(`FAIL: ${groups.length} distinct failures (${occurrences} in all), by operation and status:`);
  let last = '';
  for (const g of groups.slice(0, maxFailures)) {
    const head = `${g.operation} → ${g.status}`;
    if (head !== last) {
      say(`  ${head}`);
      last = head;
    }
    say(`    [${g.kind}] ${g.detail}  ×${g.count}`);
    if (g.example) {
      const e = g.example;
      say(`      e.g. ${e.test || '(no test)'}: ${e.request}` +
        (e.request_body ? ` (${e.request_content_type ?? 'no Content-Type'}) ${e.request_body}` : ''));
      say(`           → ${e.status} ${e.response_content_type ?? '(no Content-Type)'} ${e.response_body}`);
    }
  }
  if (groups.length > maxFailures) {
    const where = options.report ? ` (all of them in ${options.report})` : '';
    say(`  … and ${groups.length - maxFailures} more${where}`);
  }
}

if (options.report) {
  fs.mkdirSync(path.dirname(path.resolve(options.report)), { recursive: true });
  fs.writeFileSync(options.report, JSON.stringify({
    exchanges: exchanges.length,
    counts,
    coverage: { pairs, exercised: hit, operations: operations.length, called, not_exercised: missing },
    undocumented_paths: Object.fromEntries(undocumentedPaths),
    undocumented_methods: Object.fromEntries(undocumentedMethods),
    unchecked_formats: [...uncheckedFormats],
    undeclared_members: Object.fromEntries([...undeclared.entries()].map(([k, v]) => [k, [...v].sort()])),
    failures: groups,
  }, null, 2) + '\n');
}

process.stdout.write(out.join('\n') + '\n');
process.exitCode = exchanges.length === 0 || groups.length > 0 ? 1 : 0;
