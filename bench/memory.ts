/**
 * The in-memory benchmark: loading a long bank-account stream, appending, and handling
 * commands with and without snapshots, each next to a plain-JS baseline measured in this run.
 */
import { Aggregate, CommandHandler, EventStore, ExpectedVersion, type RecordedEvent, SnapshotStore } from "@facta/core"
import { BankAccount } from "@facta/example-bank-account"
import { Effect, Layer, ManagedRuntime } from "effect"
import {
  compare,
  duration,
  environment,
  formatFigures,
  formatNumber,
  formatRatio,
  perSecond,
  rate,
  type Row,
  type Subject,
  verdict,
  writeFigures
} from "./report.js"

type NewEvent = RecordedEvent.NewEvent

const loadTarget = 0.5
const loadStreamLength = 10_000
/**
 * Loads timed together as one run: a single load takes ~3 ms, short enough for one garbage
 * collection or one recompilation to decide its time (a single load right after a forced full
 * collection measured 5.6–8.1 ms, against 3.3–5.4 ms in the same process without one).
 */
const loadsPerRun = 10

// ---------------------------------------------------------------------------------------------
// workload
// ---------------------------------------------------------------------------------------------

/** A small seeded generator (mulberry32), so every run appends the same history. */
const seededRandom = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const metadataFor = (): RecordedEvent.EventMetadata => {
  const commandId = crypto.randomUUID()
  return { correlationId: commandId, causationId: commandId, userId: "teller-7" }
}

const opened = (): NewEvent => ({
  eventId: crypto.randomUUID(),
  type: "AccountOpened",
  schemaVersion: 1,
  data: { owner: "Ada Lovelace", overdraftLimit: 50_000 },
  metadata: metadataFor()
})

const depositedCents = (amountCents: number): NewEvent => ({
  eventId: crypto.randomUUID(),
  type: "Deposited",
  schemaVersion: 3,
  data: { amountCents, currency: "EUR" },
  metadata: metadataFor()
})

/**
 * A bank account's life as stored events: opened, then deposits and withdrawals. Deposits in
 * the oldest tenth of the stream were stored as v1 (whole euros), in the next tenth as v2 (with
 * currency), later ones as today's v3, so loading runs both upcast chains.
 */
const accountHistory = (length: number): Array<NewEvent> => {
  const random = seededRandom(42)
  const events = [opened()]
  let balance = 0
  for (let index = 1; index < length; index++) {
    const age = index / length
    const withdraw = balance > 20_000 && random() < 0.4
    const metadata = metadataFor()
    const eventId = crypto.randomUUID()
    if (withdraw) {
      const amountCents = 1 + Math.floor(random() * 15_000)
      balance -= amountCents
      events.push({ eventId, type: "Withdrawn", schemaVersion: 1, data: { amountCents }, metadata })
    } else if (age < 0.1) {
      const amount = 1 + Math.floor(random() * 200)
      balance += amount * 100
      events.push({ eventId, type: "Deposited", schemaVersion: 1, data: { amount }, metadata })
    } else if (age < 0.2) {
      const amount = (100 + Math.floor(random() * 20_000)) / 100
      balance += Math.round(amount * 100)
      events.push({ eventId, type: "Deposited", schemaVersion: 2, data: { amount, currency: "EUR" }, metadata })
    } else {
      const amountCents = 100 + Math.floor(random() * 20_000)
      balance += amountCents
      events.push({ ...depositedCents(amountCents), eventId, metadata })
    }
  }
  return events
}

/** How many events of each type and schema version a history holds, e.g. `Deposited v1 ×600`. */
const describeHistory = (events: ReadonlyArray<NewEvent>): string => {
  const counts = new Map<string, number>()
  for (const event of events) {
    const key = `${event.type} v${event.schemaVersion}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts].map(([key, count]) => `${key} ×${count.toLocaleString("en-US")}`).join(", ")
}

/** Appends `events` to a new stream in batches, as a history of commands would have. */
const appendHistory = (streamId: string, events: ReadonlyArray<NewEvent>, batchSize = 500) =>
  Effect.gen(function*() {
    for (let start = 0; start < events.length; start += batchSize) {
      yield* EventStore.append(streamId, events.slice(start, start + batchSize), ExpectedVersion.Exact(start))
    }
  })

// ---------------------------------------------------------------------------------------------
// 1. loading a long stream
// ---------------------------------------------------------------------------------------------

/** The bank account without a snapshot policy: every load replays the whole stream. */
const ReplayedBankAccount = Aggregate.make({
  category: BankAccount.category,
  catalog: BankAccount.catalog,
  decider: BankAccount.decider
})

interface StoredText {
  readonly type: string
  readonly schemaVersion: number
  readonly data: string
}

/** What a hand-written loader does: parse each payload, upcast old deposits, add up the balance. */
const baselineBalance = (stored: ReadonlyArray<StoredText>): number => {
  let open = false
  let balanceCents = 0
  for (const event of stored) {
    const data = JSON.parse(event.data)
    switch (event.type) {
      case "AccountOpened":
        open = true
        break
      case "Deposited":
        // v1 and v2 stored whole euros in `amount`; v3 stores cents.
        if (open) balanceCents += event.schemaVersion >= 3 ? data.amountCents : Math.round(data.amount * 100)
        break
      case "Withdrawn":
        if (open) balanceCents -= data.amountCents
        break
    }
  }
  return balanceCents
}

type State = typeof BankAccount.decider.initialState
type Event = Parameters<typeof BankAccount.decider.evolve>[1]

/**
 * The same loop, but folding with the domain's own `evolve`: the events are built from the
 * parsed payloads by hand (upcasting old deposits), with no store, no schema, no Effect. What it
 * leaves out is exactly what Facta adds: reading envelopes from a store and validating payloads.
 */
const baselineDomainFold = (stored: ReadonlyArray<StoredText>): State => {
  const evolve = BankAccount.decider.evolve
  let state = BankAccount.decider.initialState
  for (const event of stored) {
    const data = JSON.parse(event.data)
    let domainEvent: Event
    switch (event.type) {
      case "AccountOpened":
        domainEvent = { _tag: "AccountOpened", owner: data.owner, overdraftLimit: data.overdraftLimit }
        break
      case "Deposited":
        domainEvent = event.schemaVersion >= 3
          ? { _tag: "Deposited", amountCents: data.amountCents, currency: data.currency }
          : { _tag: "Deposited", amountCents: Math.round(data.amount * 100), currency: data.currency ?? "EUR" }
        break
      case "Withdrawn":
        domainEvent = { _tag: "Withdrawn", amountCents: data.amountCents }
        break
      default:
        domainEvent = { _tag: "AccountClosed", reason: data.reason }
    }
    state = evolve(state, domainEvent)
  }
  return state
}

const balanceOf = (state: typeof BankAccount.decider.initialState): number =>
  state._tag === "Open" ? state.balanceCents : Number.NaN

const benchLoad = async (): Promise<ReadonlyArray<Row>> => {
  const runtime = ManagedRuntime.make(EventStore.layerMemory)
  try {
    const streamId = "bank_account-load"
    const history = accountHistory(loadStreamLength)
    await runtime.runPromise(appendHistory(streamId, history))
    // The store keeps payloads as JSON text of the encoded data: the baseline reads the same text.
    const stored = history.map((event) => ({
      type: event.type,
      schemaVersion: event.schemaVersion,
      data: JSON.stringify(event.data)
    }))

    console.log(`load stream: ${describeHistory(history)}`)

    const loaded = await runtime.runPromise(Aggregate.load(ReplayedBankAccount, streamId))
    const expected = baselineBalance(stored)
    if (loaded.eventsFolded !== loadStreamLength || balanceOf(loaded.state) !== expected) {
      throw new Error(`load disagrees with the baseline: ${balanceOf(loaded.state)} vs ${expected} cents`)
    }

    if (balanceOf(baselineDomainFold(stored)) !== expected) throw new Error("the domain-fold baseline disagrees")

    let sink = 0
    const repetitions = { warmup: 5, runs: 15 }
    const load = {
      run: async () => {
        for (let index = 0; index < loadsPerRun; index++) {
          sink += balanceOf((await runtime.runPromise(Aggregate.load(ReplayedBankAccount, streamId))).state)
        }
      }
    }
    const versusDomainFold = await compare(repetitions, load, {
      run: () => {
        for (let index = 0; index < loadsPerRun; index++) sink += balanceOf(baselineDomainFold(stored))
      }
    })
    const versusHandLoop = await compare(repetitions, load, {
      run: () => {
        for (let index = 0; index < loadsPerRun; index++) sink += baselineBalance(stored)
      }
    })
    if (Number.isNaN(sink)) throw new Error("the baseline lost the balance")

    const name = `load ${formatNumber(loadStreamLength)}-event stream`
    const rows = (timing: typeof versusHandLoop, against: string) => [
      duration(name, "ms/load", timing.facta.median / loadsPerRun, timing.baseline.median / loadsPerRun, against),
      rate(
        name,
        "events/s",
        perSecond(loadStreamLength * loadsPerRun, timing.facta.median),
        perSecond(loadStreamLength * loadsPerRun, timing.baseline.median),
        against
      )
    ]
    return [
      ...rows(versusDomainFold, "JSON.parse + hand upcast + domain evolve"),
      ...rows(versusHandLoop, "JSON.parse + hand upcast + hand loop")
    ]
  } finally {
    await runtime.dispose()
  }
}

// ---------------------------------------------------------------------------------------------
// 2. appends
// ---------------------------------------------------------------------------------------------

interface PlannedAppend {
  readonly streamId: string
  readonly version: number
  readonly events: ReadonlyArray<NewEvent>
}

/** Round-robin appends of `eventsPerAppend` deposits over `streams` streams, `rounds` per stream. */
const appendPlan = (streams: number, rounds: number, eventsPerAppend: number): ReadonlyArray<PlannedAppend> => {
  const plan: Array<PlannedAppend> = []
  for (let round = 0; round < rounds; round++) {
    for (let stream = 0; stream < streams; stream++) {
      const events = Array.from({ length: eventsPerAppend }, (_, index) => depositedCents(100 + index))
      plan.push({ streamId: `bank_account-append${stream}`, version: round * eventsPerAppend, events })
    }
  }
  return plan
}

const appendAll = (plan: ReadonlyArray<PlannedAppend>) =>
  Effect.forEach(
    plan,
    (append) => EventStore.append(append.streamId, append.events, ExpectedVersion.Exact(append.version)),
    { discard: true }
  )

/** The least any in-memory store does: check the version, stringify, push to the log and the stream. */
const baselineAppendAll = (plan: ReadonlyArray<PlannedAppend>): number => {
  const log: Array<object> = []
  const streams = new Map<string, Array<object>>()
  for (const append of plan) {
    let stream = streams.get(append.streamId)
    if (stream === undefined) {
      stream = []
      streams.set(append.streamId, stream)
    }
    if (stream.length !== append.version) throw new Error(`conflict on ${append.streamId}`)
    for (const event of append.events) {
      const stored = {
        eventId: event.eventId,
        streamId: append.streamId,
        streamVersion: stream.length + 1,
        globalPosition: log.length + 1,
        type: event.type,
        schemaVersion: event.schemaVersion,
        data: JSON.stringify(event.data),
        metadata: JSON.stringify(event.metadata)
      }
      log.push(stored)
      stream.push(stored)
    }
  }
  return log.length
}

const benchAppends = async (eventsPerAppend: number, streams: number, rounds: number): Promise<ReadonlyArray<Row>> => {
  const plan = appendPlan(streams, rounds, eventsPerAppend)
  const appends = plan.length
  const events = appends * eventsPerAppend
  let written = 0
  // A fresh store per run, built outside the timed region, so every run appends to the same sizes.
  const { baseline, facta } = await compare(
    { warmup: 2, runs: 9 },
    {
      setup: () => Effect.runSync(EventStore.makeMemory),
      run: (store: EventStore.EventStoreShape) =>
        Effect.runPromise(appendAll(plan).pipe(Effect.provideService(EventStore.EventStore, store)))
    },
    {
      run: () => {
        written = baselineAppendAll(plan)
      }
    }
  )
  if (written !== events) throw new Error(`the baseline wrote ${written} events, not ${events}`)

  const name = `append ${eventsPerAppend} event${eventsPerAppend === 1 ? "" : "s"} (Exact)`
  const against = "JSON.stringify + array + Map"
  return [
    rate(name, "appends/s", perSecond(appends, facta.median), perSecond(appends, baseline.median), against),
    rate(name, "events/s", perSecond(events, facta.median), perSecond(events, baseline.median), against)
  ]
}

// ---------------------------------------------------------------------------------------------
// 3. command handling with and without snapshots
// ---------------------------------------------------------------------------------------------

const deposit = { _tag: "Deposit", amountCents: 2_500, currency: "EUR" } as const

type CommandRuntime = ManagedRuntime.ManagedRuntime<EventStore.EventStore, never>

const handleDeposits = (streamId: string, count: number) =>
  Effect.forEach(
    Array.from({ length: count }),
    () => CommandHandler.handle(BankAccount, streamId, deposit),
    { discard: true }
  )

/**
 * Deposits on a stream already `length` events long: each run seeds a new stream, handles 10
 * untimed commands (which take the first snapshot when a SnapshotStore is provided), then
 * times `commands` deposits.
 */
const depositsOn = (runtime: CommandRuntime, length: number, commands: number): Subject<string> => {
  let run = 0
  return {
    setup: async () => {
      const streamId = `bank_account-deposits${length}x${run++}`
      const seed = [opened(), ...Array.from({ length: length - 1 }, () => depositedCents(1_000))]
      await runtime.runPromise(
        appendHistory(streamId, seed, 1_000).pipe(Effect.zipRight(handleDeposits(streamId, 10)))
      )
      return streamId
    },
    run: (streamId) => runtime.runPromise(handleDeposits(streamId, commands))
  }
}

const benchCommands = async (): Promise<ReadonlyArray<Row>> => {
  const withSnapshots: CommandRuntime = ManagedRuntime.make(
    Layer.merge(EventStore.layerMemory, SnapshotStore.layerMemory)
  )
  const withoutSnapshots: CommandRuntime = ManagedRuntime.make(EventStore.layerMemory)
  try {
    const rows: Array<Row> = []
    // Fewer commands on longer streams: without snapshots each one replays the whole stream.
    const cases = [{ length: 100, commands: 200 }, { length: 2_000, commands: 100 }, { length: 10_000, commands: 20 }]
    for (const { commands, length } of cases) {
      const timing = await compare(
        { warmup: 1, runs: 5 },
        depositsOn(withSnapshots, length, commands),
        depositsOn(withoutSnapshots, length, commands)
      )
      rows.push(
        rate(
          `handle Deposit, ${formatNumber(length)}-event stream`,
          "commands/s",
          perSecond(commands, timing.facta.median),
          perSecond(commands, timing.baseline.median),
          "same without SnapshotStore"
        )
      )
    }
    return rows
  } finally {
    await Promise.all([withSnapshots.dispose(), withoutSnapshots.dispose()])
  }
}

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------

/** Runs the in-memory benchmark, prints its table and verdicts, and writes `bench/results/memory.json`. */
export const main = async (): Promise<ReadonlyArray<Row>> => {
  console.log("Facta in-memory benchmark")
  console.log(environment())
  console.log("ratio = Facta speed ÷ baseline speed (above 1× Facta is faster); medians after warm-up\n")
  const started = performance.now()
  const load = await benchLoad()
  const appends = [...(await benchAppends(1, 2_000, 5)), ...(await benchAppends(10, 1_000, 2))]
  const commands = await benchCommands()
  const rows = [...load, ...appends, ...commands]
  console.log(formatFigures(rows))
  console.log("")
  console.log(verdict("load (vs the same fold by hand, domain evolve)", load[1].ratio, loadTarget))
  console.log(
    `load vs a hand-written balance loop (no domain evolve): ${
      formatRatio(load[3].ratio)
    } (the gap is the domain's immutable evolve plus validation)`
  )
  const appendRatios = appends.filter((row) => row.unit === "events/s").map((row) =>
    `${row.name} ${formatRatio(row.ratio)}`
  )
  console.log(`appends: ${appendRatios.join(", ")} baseline rate (no target)`)
  const snapshotRatios = commands.map((row) =>
    `${formatRatio(row.ratio)} on ${row.name.replace("handle Deposit, ", "a ")}`
  )
  console.log(`commands: snapshots make handling ${snapshotRatios.join(", ")} (no target)`)
  await writeFigures(new URL("./results/memory.json", import.meta.url), rows)
  console.log(`\nwrote bench/results/memory.json in ${formatNumber((performance.now() - started) / 1000)} s`)
  return rows
}
