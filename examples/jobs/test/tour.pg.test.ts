/**
 * The tour runs on Postgres stores and prints the same lines every time (run twice here).
 */
import { expect, layer } from "@effect/vitest"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Effect } from "effect"
import { storesLayer } from "../../../packages/postgres/test/support.js"
import { tour } from "../src/tour.js"

const stores = storesLayer(uniqueSchemaName())

/** Runs the tour, collecting what it prints. */
const printed = Effect.gen(function*() {
  const lines: Array<string> = []
  const console = {
    ...(yield* Effect.console),
    log: (...args: ReadonlyArray<unknown>) =>
      Effect.sync(() => {
        lines.push(args.join(" "))
      })
  }
  yield* Effect.withConsole(tour, console)
  return lines
})

layer(stores, { excludeTestServices: true })("jobs tour", (it) => {
  it.effect("prints the scripted scenario, the same on a second run", () =>
    Effect.gen(function*() {
      const first = yield* printed
      expect(first.length).toBeGreaterThanOrEqual(10)
      expect(first.length).toBeLessThanOrEqual(25)
      expect(yield* printed).toEqual(first)
    }))
})
