// check.mjs: a second, independent validator for the JSON Schemas in
// golden/schema. It compiles each schema with ajv (draft 2020-12, strict
// mode, formats asserted) and checks the cases that the Go tests of
// types/schema check with another validator: every fixture and valid
// document validates, no invalid document does. Both read the same list,
// types/schema/testdata/cases.json, so both give the same verdict on the
// same cases.
//
// Run from anywhere: npm ci --prefix .ci/ajv && node .ci/ajv/check.mjs

import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join, dirname } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const schemaDir = join(root, "golden", "schema");
const readJSON = (path) => JSON.parse(readFileSync(path, "utf8"));

const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);

let failures = 0;
const fail = (msg) => {
  failures++;
  console.error(`FAIL ${msg}`);
};

// Compile every schema in strict mode, keyed by file name.
const validators = new Map();
const files = readdirSync(schemaDir).filter((f) => f.endsWith(".json")).sort();
if (files.length === 0) {
  fail(`no schema in ${schemaDir}`);
}
for (const file of files) {
  try {
    validators.set(file, ajv.compile(readJSON(join(schemaDir, file))));
  } catch (err) {
    fail(`compile ${file}: ${err.message}`);
  }
}

const cases = readJSON(join(root, "types", "schema", "testdata", "cases.json"));

function check(name, schemaFile, doc, wantValid) {
  const validate = validators.get(schemaFile);
  if (!validate) {
    fail(`${name}: no schema ${schemaFile}`);
    return;
  }
  const valid = validate(doc);
  if (valid && !wantValid) {
    fail(`${name}: validates against ${schemaFile}, want invalid`);
  } else if (!valid && wantValid) {
    fail(`${name}: does not validate against ${schemaFile}: ${ajv.errorsText(validate.errors)}`);
  }
}

for (const f of cases.fixtures) {
  check(f.file, f.schema, readJSON(join(root, f.file)), true);
}
for (const c of cases.valid) {
  check(`valid "${c.name}"`, c.schema, c.doc, true);
}
for (const c of cases.invalid) {
  check(`invalid "${c.name}"`, c.schema, c.doc, false);
}

const total = cases.fixtures.length + cases.valid.length + cases.invalid.length;
if (failures > 0) {
  console.error(`ajv: ${failures} failure(s)`);
  process.exit(1);
}
console.log(`ajv: ${files.length} schemas compiled in strict mode; ${total} cases agree`);
