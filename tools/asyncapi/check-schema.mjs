// Validate payloads against a JSON Schema (draft-07) with Ajv, the validator most
// JavaScript desk software would use: prints one JSON array of true/false, one per
// payload of the input file (a JSON array). Used by tests/integration/test_asyncapi_parser.py
// to hold Ajv's verdicts on docs/event.schema.json to Python's jsonschema.
//
//   node tools/asyncapi/check-schema.mjs docs/event.schema.json payloads.json
import { readFile } from "node:fs/promises";
import Ajv from "ajv";

async function main(schemaPath, payloadsPath) {
  if (!schemaPath || !payloadsPath) {
    process.stderr.write("usage: node check-schema.mjs SCHEMA_FILE PAYLOADS_FILE\n");
    return 2;
  }
  const schema = JSON.parse(await readFile(schemaPath, "utf8"));
  const payloads = JSON.parse(await readFile(payloadsPath, "utf8"));
  // strict: false keeps Ajv quiet about annotation keywords such as "examples";
  // unicodeRegExp (the default) compiles patterns with the "u" flag, as JSON Schema says.
  const validate = new Ajv({ strict: false, allErrors: false }).compile(schema);
  process.stdout.write(JSON.stringify(payloads.map((p) => validate(p) === true)) + "\n");
  return 0;
}

main(process.argv[2], process.argv[3]).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`check-schema.mjs: ${err?.stack ?? err}\n`);
    process.exit(2);
  },
);
