/**
 * The projections benchmark, on one PostgreSQL (embedded, or `DATABASE_URL`):
 *
 * - catch-up throughput of a projection into a Postgres read model over a 100,000-event log,
 *   at batch sizes 1, 100 and 1,000 (the batch is one transaction: read-model writes, lease
 *   check and checkpoint), beside the rate at which `EventStore.readAll` reads the same log in
 *   the same run — the ceiling a projection works under;
 * - live latency from an append's commit to the read model being updated (median and p99),
 *   beside the latency of a plain `EventStore.subscribe` seeing the same appends.
 *
 * Prints a table with ratios and writes `bench/results/projections.json`.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { RecordedEvent } from "@facta/core"
import { EventStore, ExpectedVersion, Projection, ProjectionRunner } from "@facta/core"
import { BankAccountEvents } from "@facta/example-bank-account"
import type { BankAccountEvent } from "@facta/example-bank-account"
import { PgStore } from "@facta/postgres"
import { start } from "@facta/testing/TestDatabase"
import { Deferred, Duration, Effect, Fiber, Layer, ManagedRuntime, Stream } from "effect"
import {
  duration,
  environment,
  formatFigures,
  formatNumber,
  median,
  perSecond,
  rate,
  type Row,
  writeJson
} from "./report.js"

const sizes = {
  log: 100_000,
  eventsPerStream: 10,
  /** Batch size 1 commits one transaction per event: it runs over the first part of the log only. */
  singleEventBatchLog: 10_000,
  latencySamples: 200,
  concurrency: 16
} as const

/** A figure as bench/results/projections.json keeps it. */
interface Figure {
  readonly name: string
  readonly unit: string
  readonly facta: number
  readonly baseline: number
}

/** p-th percentile (0..100) by nearest rank. */
const percentile = (values: ReadonlyArray<number>, p: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

const newEvent = (type: string, schemaVersion: number, data: unknown): RecordedEvent.NewEvent => ({
  eventId: crypto.randomUUID(),
  type,
  schemaVersion,
  data,
  metadata: { userId: "bench" }
})

/** `events` events in 10-event streams of `category`: an opening, then deposits. */
const seed = (category: string, events: number) =>
  Effect.flatMap(EventStore.EventStore, (store) =>
    Effect.forEach(
      Array.from({ length: Math.ceil(events / sizes.eventsPerStream) }, () => `${category}-${crypto.randomUUID()}`),
      (streamId) =>
        store.append(streamId, [
          newEvent("AccountOpened", 1, { owner: "Ada", overdraftLimit: 0 }),
          ...Array.from(
            { length: sizes.eventsPerStream - 1 },
            (_, index) => newEvent("Deposited", 3, { amountCents: 100 + index, currency: "EUR" })
          )
        ], ExpectedVersion.NoStream),
      { concurrency: sizes.concurrency, discard: true }
    ))

/** A balance read model: one multi-row upsert per batch, deltas summed per account first. */
const balanceProjection = (schema: string, name: string, batchSize: number) => {
  const write = (events: ReadonlyArray<RecordedEvent.RecordedEvent<BankAccountEvent>>) =>
    Effect.flatMap(SqlClient.SqlClient, (sql) => {
      const deltas = new Map<string, { balance: number; events: number }>()
      for (const event of events) {
        const entry = deltas.get(event.streamId) ?? { balance: 0, events: 0 }
        entry.events++
        if (event.data._tag === "Deposited") entry.balance += event.data.amountCents
        if (event.data._tag === "Withdrawn") entry.balance -= event.data.amountCents
        deltas.set(event.streamId, entry)
      }
      const ids = [...deltas.keys()]
      return sql`
        INSERT INTO ${sql(schema)}.${sql(name)} (account_id, balance_cents, events)
        SELECT * FROM unnest(${ids}::text[], ${ids.map((id) => deltas.get(id)!.balance)}::bigint[],
                             ${ids.map((id) => deltas.get(id)!.events)}::integer[])
        ON CONFLICT (account_id) DO UPDATE
          SET balance_cents = ${sql(name)}.balance_cents + excluded.balance_cents,
              events = ${sql(name)}.events + excluded.events`
    }).pipe(Effect.asVoid)
  return Projection.make({
    name,
    catalog: BankAccountEvents,
    handle: (event) => write([event]),
    handleBatch: write,
    batchSize
  })
}

const createTable = (schema: string, name: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql`CREATE TABLE ${sql(schema)}.${
        sql(name)
      } (account_id text PRIMARY KEY, balance_cents bigint NOT NULL, events integer NOT NULL)`
  )

const eventsIn = (schema: string, name: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ readonly n: string }>`SELECT coalesce(sum(events), 0)::text AS n FROM ${sql(schema)}.${sql(name)}`
  ).pipe(Effect.map((rows) => Number(rows[0].n)))

/** How long a projection takes to catch up on the log, from start to `waitForCatchUp`. */
const catchUp = (schema: string, batchSize: number, limit: number) =>
  Effect.gen(function*() {
    const name = `balances_${batchSize}`
    yield* createTable(schema, name)
    const whole = balanceProjection(schema, name, batchSize)
    // A shorter run reads only the `first` category: the streams seeded first.
    const projection = limit < sizes.log ? { ...whole, filter: { ...whole.filter, categories: ["first"] } } : whole
    const begun = performance.now()
    yield* Effect.scoped(Effect.flatMap(ProjectionRunner.make([projection]), (runner) => runner.waitForCatchUp(name)))
    const elapsed = performance.now() - begun
    return { elapsed, handled: yield* eventsIn(schema, name) }
  })

/** `EventStore.readAll` over the whole log: the read rate a projection sits on. */
const readRate = Effect.gen(function*() {
  const store = yield* EventStore.EventStore
  let count = 0
  const begun = performance.now()
  yield* store.readAll().pipe(Stream.runForEachChunk((chunk) => Effect.sync(() => void (count += chunk.length))))
  return perSecond(count, performance.now() - begun)
})

/** Latency from an append returning (committed) to (a) a subscriber seeing it, (b) the read model updated. */
const liveLatency = (schema: string) =>
  Effect.gen(function*() {
    const name = "balances_live"
    yield* createTable(schema, name)
    const store = yield* EventStore.EventStore
    const head = yield* store.head()
    const after = head._tag === "Some" ? head.value : undefined
    const seen = new Map<string, Deferred.Deferred<number>>()
    const subscriber = yield* store.subscribe(after === undefined ? {} : { after }).pipe(
      Stream.runForEach((event) => {
        const waiting = seen.get(event.eventId)
        return waiting === undefined ? Effect.void : Deferred.succeed(waiting, performance.now())
      }),
      Effect.fork
    )
    const runner = yield* ProjectionRunner.make([balanceProjection(schema, name, 100)])
    yield* runner.waitForCatchUp(name)
    const projected: Array<number> = []
    const subscribed: Array<number> = []
    for (let index = 0; index < sizes.latencySamples; index++) {
      const event = newEvent("Deposited", 3, { amountCents: 1, currency: "EUR" })
      const delivered = yield* Deferred.make<number>()
      seen.set(event.eventId, delivered)
      yield* store.append("bank_account-live", [event], ExpectedVersion.Any)
      const committed = performance.now()
      yield* runner.waitForCatchUp(name)
      projected.push(performance.now() - committed)
      subscribed.push((yield* Deferred.await(delivered)) - committed)
      yield* Effect.sleep(Duration.millis(5))
    }
    yield* Fiber.interrupt(subscriber)
    return { projected, subscribed }
  })

export const main = async (): Promise<ReadonlyArray<Figure>> => {
  const server = await start()
  const schema = `bench_projections_${crypto.randomUUID().replace(/-/g, "").slice(0, 10)}`
  const runtime = ManagedRuntime.make(
    Layer.orDie(
      PgStore.layerFromUrl(server.url, { schema, maxConnections: sizes.concurrency, pollInterval: "1 second" })
    )
  )
  try {
    console.log(`Projections benchmark — ${environment()}`)
    const seeding = performance.now()
    // The batch-size-1 run reads the `first` category only: seed it first, then the rest.
    await runtime.runPromise(seed("first", sizes.singleEventBatchLog))
    await runtime.runPromise(seed("bank_account", sizes.log - sizes.singleEventBatchLog))
    console.log(`seeded ${formatNumber(sizes.log)} events in ${formatNumber((performance.now() - seeding) / 1000)} s`)
    // What autovacuum does within a minute of a bulk load. Without statistics the planner reads a
    // filtered page by sorting every matching event left in the log (see the issue notes).
    await runtime.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql`ANALYZE ${sql(schema)}.events`)
    )

    const readAllIs = "EventStore.readAll rate of the whole log, same run"
    const subscribeIs = "EventStore.subscribe seeing the same append"
    const rows: Array<Row> = []
    for (const batchSize of [1, 100, 1_000]) {
      const limit = batchSize === 1 ? sizes.singleEventBatchLog : sizes.log
      const baseline = await runtime.runPromise(readRate)
      const { elapsed, handled } = await runtime.runPromise(catchUp(schema, batchSize, limit))
      if (handled !== limit) {
        throw new Error(`the batch-size-${batchSize} projection handled ${handled} of ${limit} events`)
      }
      rows.push(rate(
        `catch-up projection, batch size ${batchSize.toLocaleString("en-US")} (${formatNumber(limit)} events)`,
        "events/s",
        perSecond(handled, elapsed),
        baseline,
        readAllIs
      ))
    }
    const { projected, subscribed } = await runtime.runPromise(Effect.scoped(liveLatency(schema)))
    rows.push(
      duration(
        "live latency, append commit → read model, median",
        "ms",
        median(projected),
        median(subscribed),
        subscribeIs
      )
    )
    rows.push(
      duration(
        "live latency, append commit → read model, p99",
        "ms",
        percentile(projected, 99),
        percentile(subscribed, 99),
        subscribeIs
      )
    )

    console.log("")
    console.log(formatFigures(rows))
    console.log("\nratio = Facta's speed over the baseline's (for latencies, the baseline's time over Facta's).")
    const figures: ReadonlyArray<Figure> = rows.map(({ baseline, facta, name, unit }) => ({
      name,
      unit,
      facta,
      baseline
    }))
    await writeJson(new URL("./results/projections.json", import.meta.url), figures)
    console.log("\nwrote bench/results/projections.json")
    return figures
  } finally {
    await runtime.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`)
    ).catch(() => undefined)
    await runtime.dispose()
    await server.stop()
  }
}
