/**
 * Runs the benchmarks: `npm run bench [-- memory|postgres|all [part…]]`. Each suite is a module
 * `bench/<suite>.ts` exporting `main(parts): Promise<unknown>`; `all` (the default) runs every
 * suite whose module exists. Parts, where a suite has them, run only some of its figures (see
 * the suite).
 */
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const suites = ["memory", "postgres", "projections"] as const
type Suite = (typeof suites)[number]

const moduleOf = (suite: Suite): URL => new URL(`./${suite}.ts`, import.meta.url)

const isSuite = (name: string): name is Suite => (suites as ReadonlyArray<string>).includes(name)

const selected = (argument: string | undefined): ReadonlyArray<Suite> => {
  if (argument === undefined || argument === "all") {
    return suites.filter((suite) => existsSync(fileURLToPath(moduleOf(suite))))
  }
  if (!isSuite(argument)) throw new Error(`Unknown benchmark ${JSON.stringify(argument)}: use ${suites.join(", ")} or all`)
  if (!existsSync(fileURLToPath(moduleOf(argument)))) throw new Error(`The ${argument} benchmark does not exist yet`)
  return [argument]
}

const runSuite = async (suite: Suite, parts: ReadonlyArray<string>): Promise<void> => {
  // A computed specifier: a suite that is not written yet must not break type-checking.
  const module: { readonly main?: unknown } = await import(moduleOf(suite).href)
  if (typeof module.main !== "function") throw new Error(`bench/${suite}.ts does not export main()`)
  await module.main(parts)
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
