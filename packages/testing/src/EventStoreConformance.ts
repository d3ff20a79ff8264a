/**
 * The event store conformance suite: one contract, run unchanged against every `EventStore`
 * layer (in-memory, Postgres, …). It is how we prove that swapping stores is safe.
 *
 * @example
 * // packages/postgres/test/EventStoreConformance.pg.test.ts
 * import { EventStoreConformance } from "@facta/testing"
 * EventStoreConformance.run("postgres", PgEventStore.layer.pipe(Layer.provide(TestPg)))
 *
 * @since 0.1.0
 */
import { layer } from "@effect/vitest"
import type { EventStore } from "@facta/core"
import { Duration, type Layer } from "effect"
import { appendCases } from "./internal/eventStoreConformance/appends.js"
import { catalogCases } from "./internal/eventStoreConformance/catalog.js"
import { concurrencyCases } from "./internal/eventStoreConformance/concurrency.js"
import { envelopeCases } from "./internal/eventStoreConformance/envelope.js"
import { expectedVersionCases } from "./internal/eventStoreConformance/expectedVersion.js"
import type { Settings, Suite } from "./internal/eventStoreConformance/fixtures.js"
import { headCases } from "./internal/eventStoreConformance/head.js"
import { idempotencyCases } from "./internal/eventStoreConformance/idempotency.js"
import { payloadCases } from "./internal/eventStoreConformance/payloads.js"
import { readAllCases, readAllPagingCases } from "./internal/eventStoreConformance/readAll.js"
import { readStreamCases } from "./internal/eventStoreConformance/readStream.js"
import { streamIdCases } from "./internal/eventStoreConformance/streamIds.js"
import { subscribeBatchCases, subscribeCases } from "./internal/eventStoreConformance/subscribe.js"

/**
 * Tuning for a store. The defaults are the contract; lower them only to keep a slow store's
 * run short, never to make a failing case pass.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Rounds of the append race (default 200). */
  readonly raceRounds?: number
  /** Writers racing in each round (default 16). */
  readonly raceFibers?: number
  /**
   * Events in the large-stream read and in the reads across several of the store's internal
   * pages (default 2,500; keep it above the store's page size).
   */
  readonly largeStreamEvents?: number
  /** How long a subscription may wait for an expected event before its case fails (default 10 s). */
  readonly waitTimeout?: Duration.DurationInput
  /** Vitest's timeout for each case, in milliseconds (default 30,000). */
  readonly caseTimeout?: number
  /** How long building (and releasing) the store layer may take (default: vitest's hook timeout). */
  readonly layerTimeout?: Duration.DurationInput
}

/**
 * Registers the conformance cases for the store that `storeLayer` provides, under a `describe`
 * named after `name`. Call it at the top level of a test file.
 *
 * The layer is built once and shared by every case, so the suite works on a store that is not
 * empty (a Postgres database kept between runs): each case uses its own random streams,
 * categories and event types, and never assumes where the global log starts or that positions
 * are dense.
 *
 * Cases run on the real clock (the layer is built without Effect's test services) because the
 * store's own fibers — polling, LISTEN/NOTIFY wake-ups — must too. No case asserts on time.
 *
 * @since 0.1.0
 * @category suites
 */
export const run = <E>(
  name: string,
  storeLayer: Layer.Layer<EventStore.EventStore, E>,
  options: Options = {}
): void => {
  const settings: Settings = {
    raceRounds: options.raceRounds ?? 200,
    raceFibers: options.raceFibers ?? 16,
    largeStreamEvents: options.largeStreamEvents ?? 2_500,
    waitTimeout: Duration.decode(options.waitTimeout ?? "10 seconds")
  }
  const caseTimeout = options.caseTimeout ?? 30_000
  const layerOptions = options.layerTimeout === undefined
    ? { excludeTestServices: true } as const
    : { excludeTestServices: true, timeout: options.layerTimeout } as const

  layer(storeLayer, layerOptions)(`EventStore conformance: ${name}`, (it) => {
    const suite: Suite = {
      settings,
      test: (caseName, body) => it.effect(caseName, body, caseTimeout)
    }
    streamIdCases(suite)
    envelopeCases(suite)
    expectedVersionCases(suite)
    appendCases(suite)
    payloadCases(suite)
    idempotencyCases(suite)
    readStreamCases(suite)
    readAllCases(suite)
    readAllPagingCases(suite)
    headCases(suite)
    subscribeCases(suite)
    subscribeBatchCases(suite)
    catalogCases(suite)
    concurrencyCases(suite)
  })
}
