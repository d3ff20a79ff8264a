// Preloaded by the consumer check: a plain-node application that imports Facta (including
// `@facta/testing/Laws`) must not load vitest. Resolving it fails the run.
import { register } from "node:module"

const hooks = `
export async function resolve(specifier, context, next) {
  if (/^(@effect\\/)?vitest(\\/|$)/.test(specifier)) {
    throw new Error("loaded " + specifier + " from " + context.parentURL + ": only the conformance suites and DeciderSpec may")
  }
  return next(specifier, context)
}`
register(`data:text/javascript,${encodeURIComponent(hooks)}`)
