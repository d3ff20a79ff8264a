#!/usr/bin/env node
/**
 * Fails on an import cycle in any package's sources, counting runtime imports alone and then
 * type imports too (madge, with the settings of Effect's own `scripts/circular.mjs`).
 */
import madge from "madge"
import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const packages = readdirSync(join(root, "packages")).map((name) => join(root, "packages", name, "src"))

let failed = false
for (const skipTypeImports of [true, false]) {
  const result = await madge(packages, {
    fileExtensions: ["ts"],
    tsConfig: join(root, "tsconfig.json"),
    detectiveOptions: { ts: { skipTypeImports }, tsx: { skipTypeImports } }
  })
  const cycles = result.circular()
  const kind = skipTypeImports ? "runtime imports" : "runtime and type imports"
  if (cycles.length === 0) {
    console.log(`no import cycles (${kind}) in ${Object.keys(result.obj()).length} modules`)
  } else {
    failed = true
    console.error(`${cycles.length} import cycle(s) (${kind}):`)
    for (const cycle of cycles) console.error(`  ${[...cycle, cycle[0]].join(" -> ")}`)
  }
}
if (failed) process.exit(1)
