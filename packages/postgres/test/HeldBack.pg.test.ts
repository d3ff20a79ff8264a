/**
 * An open transaction holds delivery back, visibly: a real session idle in a transaction that
 * has a transaction id keeps every reader below it (correct: nothing is skipped), and past the
 * runner's threshold its status says so, naming the session (pid, application name, transaction
 * start), and a warning is logged. Once the session rolls back, everything is delivered and the
 * status clears. A session that only reads (no transaction id) holds nothing back.
 */
import { expect, layer } from "@effect/vitest"
import { EventCatalog, EventStore, ExpectedVersion, Projection, ProjectionRunner } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Duration, Effect, Logger, Option, Schema } from "effect"
import { connect, query } from "./rawPostgres.js"
import { databaseUrl, storesLayer } from "./support.js"

const schema = uniqueSchemaName()
const category = `held_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
const applicationName = `facta-idle-${crypto.randomUUID().slice(0, 8)}`

const Counted = Schema.TaggedStruct("Counted", { n: Schema.Int })
const Events = EventCatalog.make([Counted])

const appendCounted = (...ns: ReadonlyArray<number>) =>
  EventStore.append(
    `${category}-${crypto.randomUUID()}`,
    ns.map((n) => ({ eventId: crypto.randomUUID(), type: "Counted", schemaVersion: 1, data: { n }, metadata: {} })),
    ExpectedVersion.NoStream
  )

/** Polls `effect` every 20 ms until `done` holds; fails after `within` (needs real time). */
const eventually = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  done: (a: A) => boolean,
  within: Duration.DurationInput = "10 seconds"
) =>
  effect.pipe(
    Effect.delay("20 millis"),
    Effect.repeat({ until: done }),
    Effect.timeoutFail({
      duration: within,
      onTimeout: () => new Error(`the condition did not hold within ${Duration.format(within)}`)
    })
  )

/** Warnings logged, as text. */
const captureWarnings = () => {
  const warnings: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
  })
  return { warnings, layer: Logger.replace(Logger.defaultLogger, logger) }
}

layer(storesLayer(schema), { excludeTestServices: true })(
  "Postgres: delivery held back by an open transaction",
  (it) => {
    // `excludeTestServices`: the layer's cases run on the real clock.
    it.scoped(
      "a session idle in a writing transaction shows in the runner's status and a warning; rolled back, all is delivered",
      () =>
        Effect.gen(function*() {
          const seen: Array<number> = []
          const projection = Projection.make({
            name: `held_${crypto.randomUUID().slice(0, 8)}`,
            catalog: Events,
            categories: [category],
            handle: (event) => Effect.sync(() => void seen.push(event.data.n))
          })
          const logs = captureWarnings()
          const runner = yield* ProjectionRunner.make([projection], {
            leaseTtl: "2 seconds",
            heldBackThreshold: "300 millis",
            // Short: another test's open transaction on the same server may earn the first warning.
            heldBackWarningInterval: "200 millis"
          }).pipe(Effect.provide(logs.layer))
          const status = runner.status(projection.name)
          yield* eventually(status, (s) => s.state === "live")

          // A session that only reads, even under a snapshot, has no transaction id: it holds nothing back.
          const reader = yield* connect()
          yield* query(reader, "BEGIN ISOLATION LEVEL REPEATABLE READ")
          yield* query(reader, `SELECT count(*) FROM "${schema}".events`)
          yield* appendCounted(1)
          yield* runner.waitForCatchUp(projection.name).pipe(Effect.timeout("10 seconds"))
          expect(seen).toEqual([1])

          // A session that wrote something, then idles in its transaction.
          const url = new URL(databaseUrl())
          url.searchParams.set("application_name", applicationName)
          const blocker = yield* connect(url.toString())
          const [{ pid }] = yield* query<{ readonly pid: number }>(blocker, "SELECT pg_backend_pid() AS pid")
          yield* query(blocker, `CREATE TABLE "${schema}".scratch (n integer)`)
          yield* query(blocker, "BEGIN")
          yield* query(blocker, `INSERT INTO "${schema}".scratch VALUES (1)`)
          const [{ started }] = yield* query<{ readonly started: Date }>(blocker, "SELECT now() AS started")

          yield* appendCounted(2, 3)
          const held = yield* eventually(
            status,
            (s) =>
              Option.isSome(s.heldBack) && Option.exists(s.heldBack.value.blocker, (session) => session.pid === pid)
          )
          expect(held).toMatchObject({ state: "live", lag: 2, lastError: Option.none() })
          const heldBack = Option.getOrThrow(held.heldBack)
          expect(heldBack.events).toBe(2)
          expect(Duration.toMillis(heldBack.heldFor)).toBeGreaterThanOrEqual(300)
          const session = Option.getOrThrow(heldBack.blocker)
          expect(session).toMatchObject({ pid, applicationName, state: Option.some("idle in transaction") })
          expect(Option.getOrThrow(session.transactionStart).getTime()).toBe(new Date(started).getTime())
          // Nothing is skipped: the events wait.
          expect(seen).toEqual([1])

          const warning = yield* eventually(
            Effect.sync(() => logs.warnings.find((line) => line.includes(`pid ${pid}`))),
            (line) => line !== undefined
          )
          expect(warning).toContain(`is held back: 2 committed event(s)`)
          expect(warning).toContain(`application ${JSON.stringify(applicationName)}`)
          expect(warning).toContain("idle in transaction")
          expect(warning).toContain(`transaction started ${new Date(started).toISOString()}`)

          yield* query(blocker, "ROLLBACK")
          yield* query(reader, "COMMIT")
          yield* runner.waitForCatchUp(projection.name).pipe(Effect.timeout("10 seconds"))
          expect(seen).toEqual([1, 2, 3])
          // Another test's transaction on the same server may hold readers back meanwhile: wait it out.
          const cleared = yield* eventually(status, (s) => Option.isNone(s.heldBack))
          expect(cleared).toMatchObject({ state: "live", lag: 0 })
        }),
      30_000
    )
  }
)
