/**
 * Inline projections on Postgres: their handlers run in the append's transaction, so the read
 * model is up to date when the append returns; a failing one rejects the append, which then
 * records nothing; a repeated append does not run them again.
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { expect, layer } from "@effect/vitest"
import { EventCatalog, EventStore, ExpectedVersion, Projection } from "@facta/core"
import { PgStore } from "@facta/postgres"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Cause, Context, Data, Effect, Exit, Layer, Option, Schema } from "effect"
import { connect, dropSchemaOnRelease, query } from "./rawPostgres.js"
import { clientLayer } from "./support.js"

const schema = uniqueSchemaName()

const Opened = Schema.TaggedStruct("Opened", { owner: Schema.String })
const Deposited = Schema.TaggedStruct("Deposited", { amount: Schema.Int })
const Noted = Schema.TaggedStruct("Noted", { text: Schema.String })
const catalog = EventCatalog.make([Opened, Deposited, Noted])
const toNew = EventCatalog.toNewEvent(catalog)

class NegativeDeposit extends Data.TaggedError("NegativeDeposit")<{ readonly amount: number }> {}

/** A service a projection needs besides the SqlClient: the layer must ask for it. */
class Audit extends Context.Tag("test/Audit")<Audit, { readonly label: string }>() {}

const table = (sql: SqlClient.SqlClient, name: string) => sql`${sql(schema)}.${sql(name)}`

/** Account balances: not idempotent (a deposit adds), so running twice would show. */
const Balances = Projection.make({
  name: "balances",
  catalog,
  categories: ["account"],
  types: ["Opened", "Deposited"],
  handle: (event) =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const audit = yield* Audit
      if (event.data._tag === "Opened") {
        yield* sql`INSERT INTO ${
          table(sql, "balances")
        } (account, owner, balance, last_position, last_transaction, audit)
                   VALUES (${event.streamId}, ${event.data.owner}, 0, ${String(event.globalPosition)}::bigint,
                           ${String(event.transactionId)}::xid8, ${audit.label})`
        return
      }
      if (event.data.amount === 666) return yield* Effect.die(new Error("the handler crashed"))
      if (event.data.amount < 0) return yield* Effect.fail(new NegativeDeposit({ amount: event.data.amount }))
      yield* sql`UPDATE ${table(sql, "balances")}
                    SET balance = balance + ${event.data.amount}, last_position = ${
        String(event.globalPosition)
      }::bigint,
                        last_transaction = ${String(event.transactionId)}::xid8
                  WHERE account = ${event.streamId}`
    })
})

/** How many events each inline handler call received: a batch handler, to see batching. */
const calls: Array<number> = []
const Notes = Projection.make({
  name: "notes",
  catalog,
  types: ["Noted"],
  handle: () => Effect.sync(() => void calls.push(1)),
  handleBatch: (events) => Effect.sync(() => void calls.push(events.length))
})

const inline = [Balances, Notes] as const

const stores = PgStore.layer({ schema, inline })

// The layer asks for the projections' services: Audit besides the client.
type Required = Layer.Layer.Context<typeof stores>
const requiresAudit: [Audit] extends [Required] ? true : false = true
const requiresOnlyThese: [Required] extends [Audit | SqlClient.SqlClient | PgClient.PgClient] ? true : false = true

const setUp = Layer.effectDiscard(
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`CREATE TABLE ${table(sql, "balances")} (
          account text PRIMARY KEY, owner text NOT NULL, balance integer NOT NULL,
          last_position bigint NOT NULL, last_transaction xid8 NOT NULL, audit text NOT NULL
        )`).pipe(Effect.orDie)
)

// The event store migrates the schema; the read model's table is created right after.
const testLayer = Layer.mergeAll(
  setUp.pipe(Layer.provideMerge(stores)),
  dropSchemaOnRelease(schema)
).pipe(
  Layer.provideMerge(Layer.succeed(Audit, { label: "audited" })),
  Layer.provideMerge(clientLayer(4))
)

const balanceOf = (raw: Parameters<typeof query>[0], account: string) =>
  Effect.map(
    query<
      {
        readonly balance: number
        readonly last_position: string
        readonly last_transaction: string
        readonly audit: string
      }
    >(
      raw,
      `SELECT balance, last_position::text AS last_position, last_transaction::text AS last_transaction, audit
         FROM "${schema}".balances WHERE account = $1`,
      [account]
    ),
    (rows) => Option.fromNullable(rows[0])
  )

const eventsOf = (raw: Parameters<typeof query>[0], streamId: string) =>
  Effect.map(
    query<{ readonly count: number }>(
      raw,
      `SELECT count(*)::int AS count FROM "${schema}".events WHERE stream_id = $1`,
      [
        streamId
      ]
    ),
    (rows) => rows[0].count
  )

const events = (...domain: ReadonlyArray<typeof Opened.Type | typeof Deposited.Type | typeof Noted.Type>) =>
  Effect.forEach(domain, (event) => toNew(event))

/** The typed failure of an exit that must not be a defect. */
const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  expect(Cause.isDie(exit.cause), Cause.pretty(exit.cause)).toBe(false)
  return Option.getOrThrow(Cause.failureOption(exit.cause))
}

layer(testLayer, { excludeTestServices: true })("Inline projections on Postgres", (it) => {
  it.effect("the read model is up to date when the append returns, with the recorded positions", () =>
    Effect.gen(function*() {
      expect(requiresAudit && requiresOnlyThese).toBe(true)
      const raw = yield* connect()
      const account = `account-${crypto.randomUUID()}`
      const opened = yield* EventStore.append(
        account,
        yield* events({ _tag: "Opened", owner: "ada" }, { _tag: "Deposited", amount: 30 }),
        ExpectedVersion.NoStream
      )
      // Another connection sees it at once: the append and the projection committed together.
      expect(yield* balanceOf(raw, account)).toEqual(Option.some({
        balance: 30,
        last_position: String(opened.position.globalPosition),
        last_transaction: String(opened.position.transactionId),
        audit: "audited"
      }))
      yield* EventStore.append(account, yield* events({ _tag: "Deposited", amount: 12 }), ExpectedVersion.Exact(2))
      expect(Option.map(yield* balanceOf(raw, account), (row) => row.balance)).toEqual(Option.some(42))
    }).pipe(Effect.scoped))

  it.effect("a failing inline projection rejects the append typed; no events, no rows", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const account = `account-${crypto.randomUUID()}`
      const failed = failureOf(
        yield* Effect.exit(
          EventStore.append(
            account,
            yield* events({ _tag: "Opened", owner: "bob" }, { _tag: "Deposited", amount: -5 }),
            ExpectedVersion.NoStream
          )
        )
      )
      expect(failed).toBeInstanceOf(Projection.InlineProjectionFailed)
      expect(failed).toMatchObject({
        projection: "balances",
        streamId: account,
        cause: new NegativeDeposit({ amount: -5 })
      })
      expect(failed.message).toContain("balances")
      expect(yield* eventsOf(raw, account)).toBe(0)
      expect(yield* balanceOf(raw, account)).toEqual(Option.none())
      expect(yield* EventStore.streamVersion(account)).toEqual(Option.none())

      // A handler that dies is rejected the same way, not as a defect; the stream stays as it was.
      yield* EventStore.append(account, yield* events({ _tag: "Opened", owner: "bob" }), ExpectedVersion.NoStream)
      const died = failureOf(
        yield* Effect.exit(
          EventStore.append(account, yield* events({ _tag: "Deposited", amount: 666 }), ExpectedVersion.Exact(1))
        )
      )
      expect(died).toBeInstanceOf(Projection.InlineProjectionFailed)
      expect(yield* eventsOf(raw, account)).toBe(1)
      expect(Option.map(yield* balanceOf(raw, account), (row) => row.balance)).toEqual(Option.some(0))

      // An event of a handled type that does not decode is rejected too.
      const undecodable = failureOf(
        yield* Effect.exit(
          EventStore.append(
            account,
            [{
              eventId: crypto.randomUUID(),
              type: "Deposited",
              schemaVersion: 1,
              data: { amount: "lots" },
              metadata: {}
            }],
            ExpectedVersion.Exact(1)
          )
        )
      )
      expect(undecodable).toBeInstanceOf(Projection.InlineProjectionFailed)
      expect(yield* eventsOf(raw, account)).toBe(1)
    }).pipe(Effect.scoped))

  it.effect("a repeated append (same event ids) does not run the projections again", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const account = `account-${crypto.randomUUID()}`
      const batch = yield* events({ _tag: "Opened", owner: "cy" }, { _tag: "Deposited", amount: 7 })
      expect((yield* EventStore.append(account, batch, ExpectedVersion.NoStream)).written).toBe(true)
      const repeat = yield* EventStore.append(account, batch, ExpectedVersion.NoStream)
      expect(repeat.written).toBe(false)
      expect(Option.map(yield* balanceOf(raw, account), (row) => row.balance)).toEqual(Option.some(7))
      expect(yield* eventsOf(raw, account)).toBe(2)
    }).pipe(Effect.scoped))

  it.effect("a conflicting append runs no projection and fails with ConcurrencyConflict", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const account = `account-${crypto.randomUUID()}`
      yield* EventStore.append(account, yield* events({ _tag: "Opened", owner: "di" }), ExpectedVersion.NoStream)
      const conflict = failureOf(
        yield* Effect.exit(
          EventStore.append(account, yield* events({ _tag: "Deposited", amount: 1 }), ExpectedVersion.Exact(5))
        )
      )
      expect(conflict).toBeInstanceOf(EventStore.ConcurrencyConflict)
      expect(Option.map(yield* balanceOf(raw, account), (row) => row.balance)).toEqual(Option.some(0))
    }).pipe(Effect.scoped))

  it.effect("each projection gets only the events its filter selects, several at once through handleBatch", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      calls.length = 0
      const journal = `journal-${crypto.randomUUID()}`
      yield* EventStore.append(
        journal,
        yield* events({ _tag: "Noted", text: "a" }, { _tag: "Noted", text: "b" }, { _tag: "Noted", text: "c" }),
        ExpectedVersion.NoStream
      )
      expect(calls).toEqual([3])
      // Balances reads the "account" category only: an Opened elsewhere does not reach it.
      const elsewhere = `ledger-${crypto.randomUUID()}`
      yield* EventStore.append(elsewhere, yield* events({ _tag: "Opened", owner: "eve" }), ExpectedVersion.NoStream)
      expect(yield* balanceOf(raw, elsewhere)).toEqual(Option.none())
      expect(calls).toEqual([3])
    }).pipe(Effect.scoped))
})
