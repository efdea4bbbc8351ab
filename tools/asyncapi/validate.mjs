// Parse an AsyncAPI document with the official parser (@asyncapi/parser) and print
// every diagnostic as one JSON line: {"severity", "code", "message", "path"}.
// Exit status: 0 when the document parsed with no error and no warning, 1 otherwise,
// 2 on a usage error. Used by tests/unit/test_asyncapi_parser.py.
//
//   node tools/asyncapi/validate.mjs docs/asyncapi.json
import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const NAMES = {
  [DiagnosticSeverity.Error]: "error",
  [DiagnosticSeverity.Warning]: "warning",
  [DiagnosticSeverity.Information]: "info",
  [DiagnosticSeverity.Hint]: "hint",
};

async function main(path) {
  if (!path) {
    process.stderr.write("usage: node validate.mjs ASYNCAPI_FILE\n");
    return 2;
  }
  const text = await readFile(path, "utf8");
  const { document, diagnostics } = await new Parser().parse(text, { source: path });
  let failed = document === undefined;
  for (const d of diagnostics) {
    const severity = NAMES[d.severity] ?? String(d.severity);
    if (d.severity <= DiagnosticSeverity.Warning) failed = true;
    const line = { severity, code: d.code, message: d.message, path: (d.path ?? []).join("/") };
    process.stdout.write(JSON.stringify(line) + "\n");
  }
  if (document !== undefined) {
    const summary = {
      parsed: true,
      channels: document.channels().all().map((c) => c.address()),
      operations: document.operations().all().map((o) => `${o.action()} ${o.id()}`),
    };
    process.stdout.write(JSON.stringify(summary) + "\n");
  }
  return failed ? 1 : 0;
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`validate.mjs: ${err?.stack ?? err}\n`);
    process.exit(2);
  },
);
