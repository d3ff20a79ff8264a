/**
 * The Postgres benchmark: Facta's event store side by side with the same transaction written by
 * hand with node-postgres and with Emmett, in one run on one server (the embedded PostgreSQL, or
 * `DATABASE_URL`), each in fresh database objects with a 16-connection pool, each warmed up, with
 * their runs interleaved. Prints a table with ratios and writes `bench/results/postgres.json`.
 */
import { PgStore } from "@facta/postgres"
import { start } from "@facta/testing/TestDatabase"
import pg from "pg"
import type { BenchEvent, Contender, HotAppend, HotOutcome, PlannedAppend } from "./contenders/Contender.js"
import { makeEmmett } from "./contenders/emmett.js"
import { makeFacta } from "./contenders/facta.js"
import { makeRawPg } from "./contenders/rawPg.js"
import {
  compareAll,
  environment,
  formatNumber,
  formatRatio,
  formatTable,
  median,
  perSecond,
  type Repetitions,
  type Timing,
  writeJson
} from "./report.js"

/**
 * How much work each figure does; sized to keep the whole suite near 4 minutes on 2 cores, with
 * the append runs long enough (about a second) that a garbage collection or V8 recompiling
 * something during a run is a small part of it. With 600 serial appends a run (0.35 s), when a
 * forced full collection still preceded every run, Facta's lead over Emmett at concurrency 1
 * came out 0.98–1.04× in three runs; with 2,000, 1.06–1.15× (see `report.ts`).
 */
const sizes = {
  serialAppends: 2_000,
  concurrentAppends: 2_000,
  batchAppends: 600,
  hotAppends: 1_600,
  hotStreams: 100,
  loadStreamLength: 1_000,
  loadsPerRun: 30,
  minimumLog: 50_000,
  pageSize: 1_000,
  concurrency: 16
} as const

// Timed runs in multiples of 6: every order of the three contenders equally often (see compareAll).
const appendRepetitions: Repetitions = { warmup: 1, runs: 6 }
const loadRepetitions: Repetitions = { warmup: 2, runs: 12 }
const catchUpRepetitions: Repetitions = { warmup: 1, runs: 12 }

/** Facta must reach this share of raw pg's speed on every append and read figure. */
const pgTarget = 0.9

// ---------------------------------------------------------------------------------------------
// workload
// ---------------------------------------------------------------------------------------------

/** A small seeded generator (mulberry32), so every contender gets the same choices. */
const seededRandom = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const metadataFor = (): BenchEvent["metadata"] => {
  const commandId = crypto.randomUUID()
  return { correlationId: commandId, causationId: commandId, userId: "teller-7" }
}

const event = (type: string, schemaVersion: number, data: Record<string, unknown>): BenchEvent => ({
  eventId: crypto.randomUUID(),
  type,
  schemaVersion,
  data,
  metadata: metadataFor()
})

const opened = () => event("AccountOpened", 1, { owner: "Ada Lovelace", overdraftLimit: 50_000 })
const deposited = (amountCents: number) => event("Deposited", 3, { amountCents, currency: "EUR" })
const withdrawn = (amountCents: number) => event("Withdrawn", 1, { amountCents })

/** `appends` appends of `eventsPerAppend` events (an opening and deposits), each to a new stream. */
const newStreamPlan = (appends: number, eventsPerAppend: number): ReadonlyArray<PlannedAppend> =>
  Array.from({ length: appends }, () => ({
    streamId: `bank_account-${crypto.randomUUID()}`,
    expected: 0,
    events: [opened(), ...Array.from({ length: eventsPerAppend - 1 }, (_, index) => deposited(100 + index))]
  }))

const hotStreamId = (index: number) => `bank_account-hot${index}`

/** One deposit each to hot streams picked at random (the same picks for every contender). */
const hotPlan = (appends: number): ReadonlyArray<HotAppend> => {
  const random = seededRandom(7)
  return Array.from({ length: appends }, (_, index) => ({
    streamId: hotStreamId(Math.floor(random() * sizes.hotStreams)),
    event: deposited(1 + index)
  }))
}

/** A bank account's life in today's event versions: opened, then deposits and withdrawals. */
const accountHistory = (length: number): { readonly events: ReadonlyArray<BenchEvent>; readonly balance: number } => {
  const random = seededRandom(42)
  const events = [opened()]
  let balance = 0
  for (let index = 1; index < length; index++) {
    if (balance > 20_000 && random() < 0.4) {
      const amount = 1 + Math.floor(random() * 15_000)
      balance -= amount
      events.push(withdrawn(amount))
    } else {
      const amount = 100 + Math.floor(random() * 20_000)
      balance += amount
      events.push(deposited(amount))
    }
  }
  return { events, balance }
}

// ---------------------------------------------------------------------------------------------
// figures
// ---------------------------------------------------------------------------------------------

/** One row of the table and of the JSON: the same figure for the three contenders. */
interface Figure {
  readonly name: string
  readonly unit: string
  readonly facta: number
  readonly pg: number
  readonly emmett: number
}

/** How a figure reads: a rate (higher is better), a duration (lower is better), or neither. */
type Kind = "rate" | "duration" | "info"

interface Row extends Figure {
  readonly kind: Kind
  /** Whether the targets apply (a row added to show a cost has none). */
  readonly targeted: boolean
}

/** Facta's speed over another's: above 1 Facta is faster, whatever the unit. */
const speedup = (row: Row, other: number): number => (row.kind === "duration" ? other / row.facta : row.facta / other)

type Contenders = readonly [facta: Contender, pg: Contender, emmett: Contender]

const figure = (
  name: string,
  unit: string,
  kind: Kind,
  [facta, pg, emmett]: ReadonlyArray<number>,
  targeted: boolean = kind !== "info"
): Row => ({ name, unit, kind, targeted, facta, pg, emmett })

const medians = (timings: ReadonlyArray<Timing>) => timings.map((timing) => timing.median)

/** Appends to new streams: appends/s (and events/s when an append carries several events). */
const benchNewStreams = async (
  contenders: Contenders,
  appends: number,
  eventsPerAppend: number,
  concurrency: number
): Promise<ReadonlyArray<Row>> => {
  const timings = await timeNewStreams(contenders, appends, eventsPerAppend, concurrency)
  const name = `${eventsPerAppend}-event appends to new streams, concurrency ${concurrency}`
  const rows = [figure(name, "appends/s", "rate", medians(timings).map((ms) => perSecond(appends, ms)))]
  if (eventsPerAppend > 1) {
    rows.push(figure(name, "events/s", "rate", medians(timings).map((ms) => perSecond(appends * eventsPerAppend, ms))))
  }
  return rows
}

/**
 * The same 1-event appends while a live subscriber follows the log, where the store has one
 * (Facta: its appends then NOTIFY, as pg's always do; Emmett's consumers poll). Shows what the
 * notification costs; the targets are for the rows without.
 */
const benchNewStreamsSubscribed = async (
  contenders: Contenders,
  appends: number,
  concurrency: number
): Promise<ReadonlyArray<Row>> => {
  const stops = await Promise.all(contenders.map((contender) => contender.startSubscriber?.()))
  try {
    const timings = await timeNewStreams(contenders, appends, 1, concurrency)
    const name = `1-event appends to new streams, concurrency ${concurrency}, a live subscriber following the log`
    return [figure(name, "appends/s", "rate", medians(timings).map((ms) => perSecond(appends, ms)), false)]
  } finally {
    for (const stop of stops) await stop?.()
  }
}

const timeNewStreams = (contenders: Contenders, appends: number, eventsPerAppend: number, concurrency: number) =>
  compareAll(
    appendRepetitions,
    contenders.map((contender) => ({
      setup: () => newStreamPlan(appends, eventsPerAppend),
      run: (plan: ReadonlyArray<PlannedAppend>) => contender.appendAll(plan, concurrency)
    }))
  )

/** Read-version-then-append-Exact on hot streams, retrying conflicts: appends/s and conflict rate. */
const benchHotStreams = async (contenders: Contenders): Promise<ReadonlyArray<Row>> => {
  const seed = Array.from({ length: sizes.hotStreams }, (_, index) => ({
    streamId: hotStreamId(index),
    expected: 0,
    events: [opened()]
  }))
  await Promise.all(contenders.map((contender) => contender.appendAll(seed, 4)))
  const outcomes = contenders.map((): Array<HotOutcome> => [])
  const timings = await compareAll(
    appendRepetitions,
    contenders.map((contender, index) => ({
      setup: () => hotPlan(sizes.hotAppends),
      run: async (plan: ReadonlyArray<HotAppend>) =>
        void outcomes[index].push(await contender.appendHot(plan, sizes.concurrency))
    }))
  )
  const conflictRates = outcomes.map((all) => {
    const timed = all.slice(-appendRepetitions.runs)
    const attempts = timed.reduce((sum, outcome) => sum + outcome.attempts, 0)
    return (100 * timed.reduce((sum, outcome) => sum + outcome.conflicts, 0)) / attempts
  })
  const name =
    `1-event appends to ${sizes.hotStreams} hot streams, read version + Exact, concurrency ${sizes.concurrency}`
  return [
    figure(name, "appends/s", "rate", medians(timings).map((ms) => perSecond(sizes.hotAppends, ms))),
    figure(name, "% conflicts", "info", conflictRates)
  ]
}

/** Vacuums and analyzes every contender's tables, one after the other (see `Contender.settle`). */
const settle = async (contenders: Contenders): Promise<void> => {
  for (const contender of contenders) await contender.settle()
}

/** Loading a bank account by replaying a long stream. */
const benchLoad = async (contenders: Contenders): Promise<ReadonlyArray<Row>> => {
  const streamId = "bank_account-load"
  const history = accountHistory(sizes.loadStreamLength)
  await Promise.all(
    contenders.map((contender) => contender.appendAll([{ streamId, expected: 0, events: history.events }], 1))
  )
  await settle(contenders)
  for (const contender of contenders) {
    const balance = await contender.loadBalance(streamId)
    if (balance !== history.balance) {
      throw new Error(`${contender.name} loaded a balance of ${balance} cents, not ${history.balance}`)
    }
  }
  const timings = await compareAll(
    loadRepetitions,
    contenders.map((contender) => ({
      run: async () => {
        for (let load = 0; load < sizes.loadsPerRun; load++) await contender.loadBalance(streamId)
      }
    }))
  )
  return [
    figure(
      `load a ${formatNumber(sizes.loadStreamLength)}-event bank account (read + decode + fold)`,
      "ms/load",
      "duration",
      medians(timings).map((ms) => ms / sizes.loadsPerRun)
    )
  ]
}

/** The catch-up figure, the log's length, and how many events Emmett delivered per read of it. */
interface CatchUp {
  readonly rows: ReadonlyArray<Row>
  readonly log: number
  readonly emmettDelivered: ReadonlyArray<number>
}

/** Reading the whole log from the start until caught up. */
const benchCatchUp = async (contenders: Contenders): Promise<CatchUp> => {
  const sizesNow = await Promise.all(contenders.map((contender) => contender.readAll(sizes.pageSize)))
  const missing = sizes.minimumLog - Math.min(...sizesNow)
  if (missing > 0) {
    const plan = newStreamPlan(Math.ceil(missing / 100), 100)
    await Promise.all(contenders.map((contender) => contender.appendAll(plan, 4)))
  }
  await settle(contenders)
  const counts = contenders.map((): Array<number> => [])
  const timings = await compareAll(
    catchUpRepetitions,
    contenders.map((contender, index) => ({
      run: async () => void counts[index].push(await contender.readAll(sizes.pageSize))
    }))
  )
  // Facta and pg page by (transaction_id, global_position). Emmett pages by global_position alone
  // while ordering by transaction_id, so where those orders differ it skips or repeats events:
  // its rate counts the events it delivered, and the report says how far that is from the log.
  const log = counts[0][0]
  if (counts.slice(0, 2).some((all) => all.some((count) => count !== log))) {
    throw new Error(`Facta and pg read logs of different lengths: ${counts.map((all) => all.join("/")).join(", ")}`)
  }
  const emmettDelivered = counts[2]
  const name = `catch-up read of the whole log (${formatNumber(log)} events, pages of ${formatNumber(sizes.pageSize)})`
  const rates = medians(timings).map((ms, index) => perSecond(index === 2 ? median(emmettDelivered) : log, ms))
  return { rows: [figure(name, "events/s", "rate", rates)], log, emmettDelivered }
}

// ---------------------------------------------------------------------------------------------
// report
// ---------------------------------------------------------------------------------------------

const verdictOf = (row: Row): string => {
  if (!row.targeted) return "(no target)"
  const vsPg = speedup(row, row.pg)
  const vsEmmett = speedup(row, row.emmett)
  const misses = [
    ...(vsPg >= pgTarget ? [] : [`${vsPg.toFixed(3)}× pg < ${pgTarget}×`]),
    ...(vsEmmett > 1 ? [] : [`behind Emmett`])
  ]
  return misses.length === 0 ? "met" : `MISSED: ${misses.join(", ")}`
}

const formatRows = (rows: ReadonlyArray<Row>): string =>
  formatTable(
    [
      { title: "#", align: "right" },
      { title: "figure", align: "left" },
      { title: "unit", align: "left" },
      { title: "Facta", align: "right" },
      { title: "pg", align: "right" },
      { title: "Emmett", align: "right" },
      { title: "vs pg", align: "right" },
      { title: "vs Emmett", align: "right" },
      { title: "target (≥0.9× pg, > Emmett)", align: "left" }
    ],
    rows.map((row, index) => [
      String(index + 1),
      row.name,
      row.unit,
      formatNumber(row.facta),
      formatNumber(row.pg),
      formatNumber(row.emmett),
      row.kind === "info" ? "" : formatRatio(speedup(row, row.pg)),
      row.kind === "info" ? "" : formatRatio(speedup(row, row.emmett)),
      verdictOf(row)
    ])
  )

const describeServer = async (url: string, embedded: boolean): Promise<string> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ version: string; fsync: string; synchronous_commit: string }>(
      "SELECT split_part(version(), ' on ', 1) AS version, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS synchronous_commit"
    )
    const { fsync, synchronous_commit, version } = rows[0]
    const where = embedded ? "embedded (throwaway)" : `DATABASE_URL ${PgStore.describeUrl(url)}`
    return `${version}, ${where}, fsync=${fsync}, synchronous_commit=${synchronous_commit}`
  } finally {
    await client.end()
  }
}

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------

/** The figures by part name, in the order they run: `npm run bench -- postgres load catch-up` runs two. */
const parts = ["serial", "concurrent", "subscribed", "batch", "hot", "load", "catch-up"] as const
type Part = (typeof parts)[number]

const isPart = (name: string): name is Part => (parts as ReadonlyArray<string>).includes(name)

/**
 * Runs the Postgres benchmark, prints its table and verdicts, and writes
 * `bench/results/postgres.json` — unless only some `chosen` parts run (for working on one figure),
 * when it writes nothing.
 */
export const main = async (chosen: ReadonlyArray<string> = []): Promise<ReadonlyArray<Figure>> => {
  const unknown = chosen.filter((name) => !isPart(name))
  if (unknown.length > 0) throw new Error(`Unknown parts ${unknown.join(", ")}: the parts are ${parts.join(", ")}`)
  const runs = (part: Part) => chosen.length === 0 || chosen.includes(part)
  const started = performance.now()
  console.log("Facta Postgres benchmark: Facta vs the same transaction by hand with node-postgres (pg) vs Emmett")
  console.log(environment())
  const server = await start()
  const created: Array<Contender> = []
  try {
    console.log(`PostgreSQL: ${await describeServer(server.url, server.embedded)}`)
    const id = crypto.randomUUID().replace(/-/g, "").slice(0, 10)
    created.push(await makeFacta(server.url, `bench_facta_${id}`, sizes.pageSize))
    created.push(await makeRawPg(server.url, `bench_pg_${id}`))
    created.push(await makeEmmett(server.url, `bench_emmett_${id}`)) // a database, not a schema: see emmett.ts
    const contenders: Contenders = [created[0], created[1], created[2]]

    const measured = async <A>(label: string, bench: () => Promise<A>): Promise<A> => {
      const begun = performance.now()
      const result = await bench()
      console.log(`  ${label} measured in ${formatNumber((performance.now() - begun) / 1000)} s`)
      return result
    }
    const rows: Array<Row> = []
    if (runs("serial")) {
      rows.push(...(await measured("serial appends", () => benchNewStreams(contenders, sizes.serialAppends, 1, 1))))
    }
    if (runs("concurrent")) {
      rows.push(
        ...(await measured(
          "concurrent appends",
          () => benchNewStreams(contenders, sizes.concurrentAppends, 1, sizes.concurrency)
        ))
      )
    }
    if (runs("subscribed")) {
      rows.push(
        ...(await measured(
          "concurrent appends with a live subscriber",
          () => benchNewStreamsSubscribed(contenders, sizes.concurrentAppends, sizes.concurrency)
        ))
      )
    }
    if (runs("batch")) {
      rows.push(
        ...(await measured(
          "10-event appends",
          () => benchNewStreams(contenders, sizes.batchAppends, 10, sizes.concurrency)
        ))
      )
    }
    if (runs("hot")) rows.push(...(await measured("hot-stream appends", () => benchHotStreams(contenders))))
    if (runs("load")) rows.push(...(await measured("loads", () => benchLoad(contenders))))
    const catchUp = runs("catch-up") ? await measured("catch-up reads", () => benchCatchUp(contenders)) : undefined
    if (catchUp !== undefined) rows.push(...catchUp.rows)

    console.log(
      `Scaled for a 2-core machine: per timed run ${formatNumber(sizes.serialAppends)} serial appends, ${
        formatNumber(sizes.concurrentAppends)
      } concurrent, ${sizes.batchAppends} × 10 events, ${
        formatNumber(sizes.hotAppends)
      } hot-stream appends, ${sizes.loadsPerRun} loads, one read of the ${
        catchUp === undefined ? "whole" : formatNumber(catchUp.log)
      }-event log; medians of ${appendRepetitions.runs} (appends), ${loadRepetitions.runs} (loads) and ${catchUpRepetitions.runs} (catch-up) runs after warm-up, contenders interleaved; ` +
        "Facta and pg each in a fresh schema, Emmett in a fresh database (see bench/contenders/emmett.ts), all on this server, each with a 16-connection pool.\n"
    )
    console.log(formatRows(rows))
    console.log("")
    console.log(
      "vs = Facta's speed over the other's (above 1× Facta is faster; for ms/load the inverse ratio of times)."
    )
    console.log(
      "Appends: Facta = one SELECT of its append_events function (idempotency probe, version check, insert, pg_notify); " +
        "pg = BEGIN; INSERT/UPDATE streams; INSERT … unnest … with pg_notify; COMMIT (4 round trips, same tables and indexes); " +
        "Emmett = BEGIN; SELECT emt_append_to_stream(…); COMMIT (no notification, one index on its messages table). " +
        "Facta's appends NOTIFY only while a subscriber listens (a NOTIFY makes commits take turns database-wide): " +
        "the row with a live subscriber shows that cost, and has no target. " +
        "Hot streams: Facta streamVersion, pg and Emmett a SELECT on their streams table (Emmett's store has no version lookup)."
    )
    console.log(
      "Loads: Facta Aggregate.load (readStreamPayloads: type, schema version and payload; Schema decode; BankAccount.evolve); " +
        "pg reads the 4 columns a fold needs; " +
        "Emmett aggregateStream; pg and Emmett fold today's payloads by hand, without validation."
    )
    if (catchUp !== undefined) {
      console.log(
        `Catch-up: Facta EventStore.readAll counted with Stream.runCount, pg the same keyset-paged query by hand, Emmett readMessagesBatch (what its consumers poll with); ` +
          `Emmett delivered ${catchUp.emmettDelivered.map(formatNumber).join(" / ")} events per read of the ${
            formatNumber(catchUp.log)
          }-event log ` +
          "(it pages by global_position but orders by transaction_id, so it skips or repeats events where the two orders differ)."
      )
    }
    const figures: ReadonlyArray<Figure> = rows.map(({ emmett, facta, name, pg, unit }) => ({
      name,
      unit,
      facta,
      pg,
      emmett
    }))
    const elapsed = `${formatNumber((performance.now() - started) / 1000)} s`
    if (chosen.length === 0) {
      await writeJson(new URL("./results/postgres.json", import.meta.url), figures)
      console.log(`\nwrote bench/results/postgres.json in ${elapsed}`)
    } else {
      console.log(
        `\nran ${chosen.join(", ")} only, in ${elapsed} (bench/results/postgres.json is written by full runs)`
      )
    }
    return figures
  } finally {
    for (const contender of created) {
      await contender.close().catch((error) => console.error(`could not clean up ${contender.name}:`, error))
    }
    await server.stop()
  }
}
