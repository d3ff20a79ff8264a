#!/usr/bin/env node
// Runs the whole test suite (vitest) and ends with one plain line: "N passed, N failed".
// Extra arguments go to vitest (e.g. `npm test -- packages/core`).
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync, rmSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const report = join(root, ".vitest-report.json")
rmSync(report, { force: true })

const vitest = join(root, "node_modules", "vitest", "vitest.mjs")
const run = spawnSync(
  process.execPath,
  [vitest, "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { cwd: root, stdio: "inherit", env: process.env }
)

let passed = 0
let failed = 0
if (existsSync(report)) {
  const results = JSON.parse(readFileSync(report, "utf8"))
  passed = results.numPassedTests ?? 0
  failed = (results.numFailedTests ?? 0) + (results.numRuntimeErrorTestSuites ?? 0)
  // A suite that failed to load has no tests counted: count it as a failure.
  for (const file of results.testResults ?? []) {
    if (file.status === "failed" && (file.assertionResults ?? []).length === 0) failed++
  }
} else {
  failed = 1
}
const exitCode = run.status === 0 && failed === 0 && passed > 0 ? 0 : 1
console.log(`${passed} passed, ${failed} failed`)
process.exit(exitCode)
