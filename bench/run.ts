/**
 * Runs the benchmarks: `npm run bench [-- memory|postgres|projections|all [part…]]`, `all` (the
 * default) running every suite. Each suite is a module `bench/<suite>.ts` exporting
 * `main`; the postgres suite also takes parts, to run only some of its figures (see there).
 * `npm run bench` runs this file bundled (see `bench/bundle.mjs`).
 */
import * as memory from "./memory.js"
import * as postgres from "./postgres.js"
import * as projections from "./projections.js"

const suites = { memory, postgres, projections } as const
type Suite = keyof typeof suites

const isSuite = (name: string): name is Suite => Object.hasOwn(suites, name)

const selected = (argument: string | undefined): ReadonlyArray<Suite> => {
  if (argument === undefined || argument === "all") return Object.keys(suites) as Array<Suite>
  if (!isSuite(argument)) {
    throw new Error(`Unknown benchmark ${JSON.stringify(argument)}: use ${Object.keys(suites).join(", ")} or all`)
  }
  return [argument]
}

const runSuite = async (suite: Suite, parts: ReadonlyArray<string>): Promise<unknown> => {
  if (suite === "postgres") return postgres.main(parts)
  if (parts.length > 0) throw new Error(`The ${suite} benchmark has no parts to choose from`)
  return suites[suite].main()
}

try {
  const chosen = selected(process.argv[2])
  for (const [index, suite] of chosen.entries()) {
    if (index > 0) console.log("")
    await runSuite(suite, process.argv.slice(3))
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
}
