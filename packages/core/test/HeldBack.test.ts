/**
 * A runner held back by the store: its status says so after the threshold, with the blocking
 * session, a warning names it (rate-limited), and both clear once delivery resumes. The held-back
 * store is the in-memory one behind a gate that holds delivery as an open PostgreSQL transaction
 * would (see packages/postgres/test/HeldBack.pg.test.ts for the real one).
 */
import { describe, expect, it } from "@effect/vitest"
import type { RecordedEvent } from "@facta/core"
import {
  CheckpointStore,
  EventCatalog,
  EventStore,
  ExpectedVersion,
  Projection,
  ProjectionRunner,
  ProjectionStore
} from "@facta/core"
import { Duration, Effect, Layer, Logger, Option, Schema, Stream } from "effect"

const Counted = Schema.TaggedStruct("Counted", { n: Schema.Int })
const Events = EventCatalog.make([Counted])

const appendCounted = (...ns: ReadonlyArray<number>) =>
  EventStore.append(
    `counted-${crypto.randomUUID()}`,
    ns.map((n): RecordedEvent.NewEvent => ({
      eventId: crypto.randomUUID(),
      type: "Counted",
      schemaVersion: 1,
      data: { n },
      metadata: {}
    })),
    ExpectedVersion.NoStream
  )

const counts = (seen: Array<number>) =>
  Projection.make({
    name: "counts",
    catalog: Events,
    handle: (event) => Effect.sync(() => void seen.push(event.data.n))
  })

/** Waits (in real time) until the projection follows the log live. */
const untilLive = (runner: ProjectionRunner.ProjectionRunnerShape) =>
  runner.status("counts").pipe(
    Effect.delay("10 millis"),
    Effect.repeat({ until: (status) => status.state === "live" }),
    Effect.timeout("5 seconds")
  )

const stores = Layer.mergeAll(EventStore.layerMemory, CheckpointStore.layerMemory, ProjectionStore.layerMemory)

/** Log lines at warning and info level, as text with their annotations. */
const captureLogs = () => {
  const lines: Array<
    { readonly level: string; readonly message: string; readonly annotations: Record<string, unknown> }
  > = []
  const logger = Logger.make(({ annotations, logLevel, message }) => {
    if (logLevel._tag !== "Warning" && logLevel._tag !== "Info") return
    lines.push({
      level: logLevel._tag,
      message: Array.isArray(message) ? message.join(" ") : String(message),
      annotations: Object.fromEntries(annotations)
    })
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

/** The in-memory store, whose deliveries wait while `held` and which then reports a blocker. */
const heldStore = (state: { held: boolean; since: number }) =>
  Effect.map(EventStore.EventStore, (store): EventStore.EventStoreShape => ({
    ...store,
    subscribe: (options) =>
      store.subscribe(options).pipe(
        Stream.tap(() => Effect.repeat(Effect.sleep("10 millis"), { while: () => state.held }))
      ),
    heldBack: (filter) =>
      Effect.flatMap(store.heldBack(filter), (real) =>
        Effect.sync(() =>
          state.held
            ? Option.some({
              transactionId: 42n,
              events: 1,
              since: new Date(state.since),
              heldFor: Duration.millis(Date.now() - state.since),
              blocker: Option.some({
                pid: 4242,
                applicationName: "psql",
                user: Option.some("postgres"),
                database: Option.some("app"),
                state: Option.some("idle in transaction"),
                transactionStart: Option.some(new Date(state.since))
              })
            })
            : real
        ))
  }))

describe("ProjectionRunner held back by an open transaction", () => {
  it.live("in memory, nothing is ever held back: the status has heldBack None, behind or caught up", () => {
    const seen: Array<number> = []
    return Effect.gen(function*() {
      expect(yield* EventStore.heldBack()).toEqual(Option.none())
      yield* appendCounted(1, 2, 3)
      const runner = yield* ProjectionRunner.make([counts(seen)], { autoStart: false, heldBackThreshold: "0 millis" })
      expect(yield* runner.status("counts")).toMatchObject({ state: "stopped", lag: 3, heldBack: Option.none() })
      yield* runner.start("counts")
      yield* runner.waitForCatchUp("counts")
      expect(yield* runner.status("counts")).toMatchObject({ state: "live", lag: 0, heldBack: Option.none() })
      expect(yield* EventStore.heldBack({ categories: ["counted"] })).toEqual(Option.none())
    }).pipe(Effect.scoped, Effect.provide(stores))
  })

  it.live("past the threshold the status shows the blocker and one warning names it; both clear when it ends", () => {
    const seen: Array<number> = []
    const logs = captureLogs()
    const state = { held: false, since: 0 }
    return Effect.gen(function*() {
      const runner = yield* ProjectionRunner.make([counts(seen)], {
        heldBackThreshold: "200 millis",
        heldBackWarningInterval: "1 minute"
      }).pipe(Effect.provideServiceEffect(EventStore.EventStore, heldStore(state)), Effect.provide(logs.layer))
      yield* untilLive(runner)
      state.held = true
      state.since = Date.now()
      yield* appendCounted(1, 2)
      // Below the threshold: behind, but not reported.
      const early = yield* runner.status("counts")
      expect(early).toMatchObject({ state: "live", lag: 2, heldBack: Option.none() })
      yield* Effect.sleep("250 millis")
      const held = yield* runner.status("counts")
      expect(held.state).toBe("live")
      expect(held.lastError).toEqual(Option.none())
      const heldBack = Option.getOrThrow(held.heldBack)
      expect(Duration.toMillis(heldBack.heldFor)).toBeGreaterThanOrEqual(200)
      expect(Option.getOrThrow(heldBack.blocker)).toMatchObject({ pid: 4242, applicationName: "psql" })
      // The watcher checks every half threshold: within a few, exactly one warning (rate-limited).
      yield* Effect.sleep("600 millis")
      const warnings = logs.lines.filter((line) => line.level === "Warning")
      expect(warnings.length).toBe(1)
      expect(warnings[0].message).toContain(`projection "counts" is held back`)
      expect(warnings[0].message).toContain("pid 4242")
      expect(warnings[0].message).toContain(`application "psql"`)
      expect(warnings[0].message).toContain("idle in transaction")
      expect(warnings[0].annotations).toMatchObject({ "facta.blocking_pid": 4242, "facta.projection": "counts" })
      expect(seen).toEqual([])

      state.held = false
      yield* runner.waitForCatchUp("counts").pipe(Effect.timeout("5 seconds"))
      expect(seen).toEqual([1, 2])
      expect(yield* runner.status("counts")).toMatchObject({ state: "live", lag: 0, heldBack: Option.none() })
    }).pipe(Effect.scoped, Effect.provide(stores))
  })

  it.live("warns again only after the warning interval", () => {
    const logs = captureLogs()
    const state = { held: false, since: 0 }
    return Effect.gen(function*() {
      const runner = yield* ProjectionRunner.make([counts([])], {
        heldBackThreshold: "50 millis",
        heldBackWarningInterval: "300 millis"
      }).pipe(Effect.provideServiceEffect(EventStore.EventStore, heldStore(state)), Effect.provide(logs.layer))
      yield* untilLive(runner)
      state.held = true
      state.since = Date.now()
      yield* appendCounted(1)
      yield* Effect.sleep("1 second")
      const warnings = logs.lines.filter((line) => line.level === "Warning").length
      // 50 ms threshold, checks every 25 ms: ~38 checks, but one warning per 300 ms.
      expect(warnings).toBeGreaterThanOrEqual(2)
      expect(warnings).toBeLessThanOrEqual(4)
      state.held = false
      yield* runner.waitForCatchUp("counts").pipe(Effect.timeout("5 seconds"))
      yield* Effect.sleep("100 millis")
      expect(logs.lines.some((line) => line.level === "Info" && line.message.includes("no longer held back"))).toBe(
        true
      )
    }).pipe(Effect.scoped, Effect.provide(stores))
  })
})
