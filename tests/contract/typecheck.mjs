// The typed-client check (ctest `contract_types`, docs/testing.md "Contract tests (OpenAPI)"):
// generates TypeScript declarations from the OpenAPI document with openapi-typescript, then compiles
// tests/contract/client.ts against them with the TypeScript compiler (the options of
// tests/contract/tsconfig.json: --strict, --noEmit). One Node process for both steps.
//
//   node tests/contract/typecheck.mjs --doc openapi.json --out openapi.d.ts [--project web]
//
// --project names another tsconfig.json's directory to compile instead (the storefront and the
// admin console: ctest `web_types`).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: options } = parseArgs({
  options: { doc: { type: 'string' }, out: { type: 'string' }, project: { type: 'string' } },
});
if (!options.doc || !options.out) {
  process.stderr.write('usage: node typecheck.mjs --doc openapi.json --out openapi.d.ts\n');
  process.exit(2);
}

const doc = JSON.parse(fs.readFileSync(options.doc, 'utf8'));
// emptyObjectsUnknown: a schema `{type: object}` with no properties allows any member (JSON Schema),
// so it becomes Record<string, unknown>, not openapi-typescript's default Record<string, never>.
// defaultNonNullable false: a request member with a default may be left out (responses list every
// member as required anyway).
const declarations = astToString(await openapiTS(doc, { emptyObjectsUnknown: true, defaultNonNullable: false }));
const out = path.resolve(options.out);
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, declarations);
console.log(`openapi-typescript: ${declarations.split('\n').length} lines in ${out}`);

const project = options.project ? path.resolve(options.project) : here;
const configPath = path.join(project, 'tsconfig.json');
const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
if (error) {
  process.stderr.write(ts.formatDiagnostic(error, ts.createCompilerHost({})));
  process.exit(2);
}
const parsed = ts.parseJsonConfigFileContent(config, ts.sys, project);
// The generated declarations of this run, wherever the build directory is.
parsed.options.paths = { 'emporium-openapi': [out] };
parsed.options.strict = true;
parsed.options.noEmit = true;

const program = ts.createProgram(parsed.fileNames, parsed.options);
const diagnostics = [...parsed.errors, ...ts.getPreEmitDiagnostics(program)];
const host = {
  getCanonicalFileName: (f) => f,
  getCurrentDirectory: () => process.cwd(),
  getNewLine: () => '\n',
};
if (diagnostics.length) {
  process.stdout.write(ts.formatDiagnostics(diagnostics.slice(0, 50), host));
  const shown = diagnostics.length > 50 ? ' (the first 50 above)' : '';
  console.log(`tsc --strict --noEmit: ${diagnostics.length} errors${shown}`);
  process.exitCode = 1;
} else {
  const names = parsed.fileNames.map((f) => path.relative(process.cwd(), f)).join(', ');
  console.log(`tsc --strict --noEmit: ${names} compiles against the generated types`);
}
