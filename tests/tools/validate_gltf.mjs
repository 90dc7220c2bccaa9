// Validates glTF/GLB files with the Khronos glTF Validator (npm gltf-validator) and prints one JSON
// object per file: {"file", "errors", "warnings", "infos", "messages"}. Usage: node validate_gltf.mjs FILE...
// The validator is found in build/node/node_modules (scripts/install-system-deps.sh installs it there).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(resolve(repo, "build", "node", "package.json"));
const validator = require("gltf-validator");

let failed = false;
for (const file of process.argv.slice(2)) {
  const report = await validator.validateBytes(new Uint8Array(readFileSync(file)), { uri: file, maxIssues: 100 });
  const issues = report.issues;
  console.log(JSON.stringify({
    file,
    errors: issues.numErrors,
    warnings: issues.numWarnings,
    infos: issues.numInfos,
    messages: issues.messages.map((m) => `${m.severity} ${m.code} ${m.pointer ?? ""}: ${m.message}`),
  }));
  failed ||= issues.numErrors > 0;
}
process.exit(failed ? 1 : 0);
