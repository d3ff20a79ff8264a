/**
 * Facta as an application uses it: `PgStore.layerFromUrl` (16 connections), `EventStore.append`
 * with `Exact` versions, `Aggregate.load` of the bank account, and `EventStore.readAll`.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Aggregate, EventStore, ExpectedVersion, Position } from "@facta/core"
import { BankAccount } from "@facta/example-bank-account"
import { PgPool, PgStore } from "@facta/postgres"
import { Effect, Fiber, ManagedRuntime, Option, Stream } from "effect"
import type { Contender, HotAppend, PlannedAppend } from "./Contender.js"

/** The bank account without its snapshot policy: every load replays the whole stream. */
const ReplayedBankAccount = Aggregate.make({
  category: BankAccount.category,
  catalog: BankAccount.catalog,
  decider: BankAccount.decider
})

/** Facta's stores in `schema` (migrated on start), over a 16-connection pool. */
export const makeFacta = async (url: string, schema: string, readBatchSize: number): Promise<Contender> => {
  const runtime = ManagedRuntime.make(PgStore.layerFromUrl(url, { schema, maxConnections: 16, readBatchSize }))
  const store = await runtime.runPromise(EventStore.EventStore)

  const appendOne = (append: PlannedAppend) =>
    store.append(append.streamId, append.events, ExpectedVersion.Exact(append.expected))

  const appendHot = async (appends: ReadonlyArray<HotAppend>, concurrency: number) => {
    let conflicts = 0
    const appendAtCurrentVersion = (append: HotAppend) =>
      store.streamVersion(append.streamId).pipe(
        Effect.flatMap((version) =>
          store.append(append.streamId, [append.event], ExpectedVersion.Exact(Option.getOrElse(version, () => 0)))
        ),
        Effect.tapErrorTag("ConcurrencyConflict", () => Effect.sync(() => conflicts++)),
        Effect.retry({ while: (error) => error._tag === "ConcurrencyConflict" })
      )
    await runtime.runPromise(Effect.forEach(appends, appendAtCurrentVersion, { concurrency, discard: true }))
    return { attempts: appends.length + conflicts, conflicts }
  }

  const loadBalance = async (streamId: string) => {
    const loaded = await runtime.runPromise(Aggregate.load(ReplayedBankAccount, streamId))
    return loaded.state._tag === "Open" ? loaded.state.balanceCents : Number.NaN
  }

  // Counted with Stream.runCount. A consumer written as `runForEachChunk((chunk) =>
  // Effect.sync(() => count += chunk.length))` reads the same log ~1.4× slower on Node 20: most
  // pages then outlive V8's young-generation collections (see countReads in core's EventStore).
  // A real consumer does more per chunk than count, and that cost is its own.
  const readAll = () => runtime.runPromise(Stream.runCount(store.readAll()))

  const startSubscriber = async () => {
    const head = await runtime.runPromise(store.head())
    const fiber = runtime.runFork(
      store.subscribe({ after: Option.getOrElse(head, () => Position.start) }).pipe(Stream.runDrain)
    )
    // The subscriber takes its listener lease in the background: from then on appends notify.
    await new Promise((resolve) => setTimeout(resolve, 500))
    return () => runtime.runPromise(Fiber.interrupt(fiber)).then(() => undefined)
  }

  const settle = async () => {
    const pool = await runtime.runPromise(PgPool.PgPool)
    await pool.query(`VACUUM (ANALYZE) "${schema}".events, "${schema}".streams`)
  }

  const close = async () => {
    await runtime.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`)
    )
    await runtime.dispose()
  }

  return {
    name: "Facta",
    appendAll: (plan, concurrency) =>
      runtime.runPromise(Effect.forEach(plan, appendOne, { concurrency, discard: true })),
    appendHot,
    loadBalance,
    readAll,
    startSubscriber,
    settle,
    close
  }
}
