/**
 * The bank account tour (the first stop of `npm start`): the domain end to end on the stores in
 * the context, printed step by step — several accounts, a rejected withdrawal, two tellers racing
 * on one account (a concurrency conflict that the retry resolves), the balance list projection
 * updating live, old events upcast on read, snapshots, temporal loads, an audit trail and metrics.
 * The balance list lives in a fresh Postgres schema, dropped at the end.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import {
  Aggregate,
  CommandHandler,
  EventCatalog,
  EventStore,
  ExpectedVersion,
  Metrics,
  Position,
  ProjectionRunner,
  SnapshotStore
} from "@facta/core"
import { Clock, Console, Effect, Metric, Option, Ref, Stream } from "effect"
import * as AccountBalances from "./AccountBalances.js"
import { BankAccount, BankAccountEvents } from "./BankAccount.js"

const euros = (cents: number) => `${cents < 0 ? "-" : ""}€${(Math.abs(cents) / 100).toFixed(2)}`

const describeState = (state: typeof BankAccount.decider.initialState) =>
  state._tag === "Open"
    ? `open, owner ${state.owner}, balance ${euros(state.balanceCents)} (overdraft ${euros(state.overdraftLimitCents)})`
    : state._tag === "Closed"
    ? `closed (was ${state.owner}'s)`
    : "not opened"

/**
 * Runs `effect` against the same store, but holds every append until two have arrived: two
 * tellers who loaded the same version reach the store together, as under real load.
 */
const appendsArriveTogether = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const together = yield* Effect.makeLatch(false)
    const arrived = yield* Ref.make(0)
    return yield* Effect.provideServiceEffect(
      effect,
      EventStore.EventStore,
      Effect.map(EventStore.EventStore, (store): EventStore.EventStoreShape => ({
        ...store,
        append: (streamId, events, expected) =>
          Ref.updateAndGet(arrived, (n) => n + 1).pipe(
            Effect.flatMap((n) => (n >= 2 ? together.open : Effect.void)),
            Effect.zipRight(together.await),
            Effect.zipRight(store.append(streamId, events, expected))
          )
      }))
    )
  })

const section = (title: string) => Console.log(`\n== ${title}`)

const printBalances = (schema: string) =>
  Effect.gen(function*() {
    yield* ProjectionRunner.waitForCatchUp("account_balances")
    for (const row of yield* AccountBalances.list(schema)) {
      yield* Console.log(
        `  ${row.accountId.padEnd(6)} ${row.owner.padEnd(6)} ${row.status.padEnd(6)} ${
          euros(row.balanceCents).padStart(9)
        }  ` +
          `${row.deposits} deposit(s), ${row.withdrawals} withdrawal(s), version ${row.version}`
      )
    }
  })

const program = (schema: string) =>
  Effect.gen(function*() {
    const handle = CommandHandler.make(BankAccount)

    yield* section("Opening accounts")
    for (
      const [id, owner, overdraft] of [["alice", "Alice", 0], ["bob", "Bob", 50_00], ["carol", "Carol", 0]] as const
    ) {
      const result = yield* handle(`bank_account-${id}`, { _tag: "OpenAccount", owner, overdraftLimit: overdraft }, {
        context: { userId: "clerk-1" }
      })
      yield* Console.log(`bank_account-${id}: ${describeState(result.state)}`)
    }

    yield* section("Deposits and withdrawals")
    yield* handle("bank_account-alice", { _tag: "Deposit", amountCents: 120_00, currency: "EUR" })
    yield* handle("bank_account-bob", { _tag: "Deposit", amountCents: 30_00, currency: "EUR" })
    const bob = yield* handle("bank_account-bob", { _tag: "Withdraw", amountCents: 70_00 })
    yield* Console.log(`Bob withdrew €70.00 with a €50.00 overdraft: ${describeState(bob.state)}`)

    yield* section("The balance list (a projection into PostgreSQL, updated live)")
    yield* printBalances(schema)

    yield* section("A rejected withdrawal")
    const rejected = yield* Effect.flip(handle("bank_account-alice", { _tag: "Withdraw", amountCents: 500_00 }))
    yield* Console.log(`Alice tries to withdraw €500.00 → ${rejected._tag}: ${rejected.message}`)
    const alice = yield* Aggregate.load(BankAccount, "bank_account-alice")
    yield* Console.log(
      `Nothing was appended: Alice is still at version ${alice.version}, ${describeState(alice.state)}`
    )

    // A moment to look back at later, in the temporal queries.
    yield* Effect.sleep("10 millis")
    const beforeTheRush = new Date(yield* Clock.currentTimeMillis)
    yield* Effect.sleep("10 millis")

    yield* section("Two tellers deposit into Carol's account at the same moment")
    const [first, second] = yield* Effect.all([
      handle("bank_account-carol", { _tag: "Deposit", amountCents: 10_00, currency: "EUR" }, {
        context: { userId: "teller-1" }
      }),
      handle("bank_account-carol", { _tag: "Deposit", amountCents: 25_00, currency: "EUR" }, {
        context: { userId: "teller-2" }
      })
    ], { concurrency: 2 }).pipe(appendsArriveTogether)
    yield* Console.log(`teller-1: decided ${first.attempts}×, now at version ${first.version}`)
    yield* Console.log(`teller-2: decided ${second.attempts}×, now at version ${second.version}`)
    const conflicts = (yield* Metric.value(Metrics.conflicts)).count
    yield* Console.log(
      `${conflicts} concurrency conflict(s) were resolved by reloading and deciding again; Carol: ${
        describeState((yield* Aggregate.load(BankAccount, "bank_account-carol")).state)
      }`
    )
    const stale = yield* Effect.flip(EventStore.append("bank_account-carol", [], ExpectedVersion.Exact(1)))
    yield* Console.log(`A writer still expecting version 1 gets: ${stale.message}`)

    yield* section("Events written by older releases are upcast on read")
    yield* EventStore.append(
      "bank_account-dave",
      [
        { type: "AccountOpened", schemaVersion: 1, data: { owner: "Dave", overdraftLimit: 0 } },
        { type: "FundsDeposited", schemaVersion: 1, data: { amount: 12.5 } },
        { type: "Deposited", schemaVersion: 2, data: { amount: 3, currency: "EUR" } }
      ].map((event) => ({ ...event, eventId: crypto.randomUUID(), metadata: { userId: "migration" } })),
      ExpectedVersion.NoStream
    )
    yield* EventCatalog.readStream(BankAccountEvents, "bank_account-dave").pipe(
      Stream.runForEach((event) =>
        Console.log(
          `  v${event.streamVersion} stored as ${event.type} (schema v${event.schemaVersion}) → ${
            JSON.stringify(event.data)
          }`
        )
      )
    )
    yield* Console.log(`Dave: ${describeState((yield* Aggregate.load(BankAccount, "bank_account-dave")).state)}`)

    yield* section("Snapshots (every 10 events)")
    for (let i = 1; i <= 23; i++) {
      yield* handle("bank_account-alice", { _tag: "Deposit", amountCents: 1_00, currency: "EUR" })
    }
    const snapshot = yield* Effect.flatMap(SnapshotStore.SnapshotStore, (store) => store.load("bank_account-alice"))
    yield* Console.log(`Alice's latest snapshot: ${
      Option.match(snapshot, {
        onNone: () => "none",
        onSome: (s) => `version ${s.version}, state ${JSON.stringify(s.state)}`
      })
    }`)
    const loaded = yield* Aggregate.load(BankAccount, "bank_account-alice")
    yield* Console.log(
      `Loading Alice: snapshot at version ${
        Option.getOrElse(loaded.snapshotVersion, () => 0)
      } + ${loaded.eventsFolded} event(s) → version ${loaded.version}, ${describeState(loaded.state)}`
    )

    yield* section("Temporal queries")
    const atFive = yield* Aggregate.load(BankAccount, "bank_account-alice", { version: 5 })
    yield* Console.log(`Alice as of version 5: ${describeState(atFive.state)}`)
    const atTime = yield* Aggregate.load(BankAccount, "bank_account-alice", { time: beforeTheRush })
    yield* Console.log(
      `Alice as of ${beforeTheRush.toISOString()} (before the tellers): ${
        describeState(atTime.state)
      }, version ${atTime.version}`
    )
    const carolThen = yield* Aggregate.load(BankAccount, "bank_account-carol", { time: beforeTheRush })
    yield* Console.log(`Carol as of the same moment: ${describeState(carolThen.state)}, version ${carolThen.version}`)

    yield* section("Audit trail of Carol's account")
    yield* EventStore.readStream("bank_account-carol").pipe(
      Stream.runForEach((event) =>
        Console.log(
          `  v${event.streamVersion} ${event.type.padEnd(14)} by ${
            event.metadata.userId ?? "?"
          } at ${event.recordedAt.toISOString()} (causation ${event.metadata.causationId?.slice(0, 8)}…)`
        )
      )
    )

    yield* section("The balance list now, and the projection's status")
    yield* printBalances(schema)
    const status = yield* ProjectionRunner.status("account_balances")
    yield* Console.log(
      `  account_balances: ${status.state}, ${status.handled} event(s) handled, lag ${status.lag}, checkpoint ${
        Option.match(status.checkpoint, { onNone: () => "none", onSome: Position.format })
      }`
    )
    yield* ProjectionRunner.rebuild("account_balances")
    yield* ProjectionRunner.waitForCatchUp("account_balances")
    const rebuilt = yield* AccountBalances.list(schema)
    yield* Console.log(`  rebuilt from the log: ${rebuilt.length} account(s), the same rows`)

    yield* section("Metrics")
    for (
      const [label, counter] of [
        ["appends", Metrics.appends],
        ["events appended", Metrics.eventsAppended],
        ["concurrency conflicts", Metrics.conflicts],
        ["commands", Metrics.commands],
        ["commands rejected", Metrics.commandsRejected],
        ["command retries", Metrics.commandRetries],
        ["snapshots saved", Metrics.snapshotsSaved]
      ] as const
    ) {
      yield* Console.log(`  ${label.padEnd(22)} ${(yield* Metric.value(counter)).count}`)
    }
  })

/** Runs the tour on the stores in the context, printing what happens. */
export const tour = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const schema = `bank_account_tour_${crypto.randomUUID().slice(0, 8)}`
  yield* sql`CREATE SCHEMA ${sql(schema)}`
  yield* AccountBalances.migrate(schema)
  const runner = ProjectionRunner.layer([AccountBalances.projection(schema)])
  yield* program(schema).pipe(
    Effect.provide(runner),
    Effect.ensuring(Effect.ignore(sql`DROP SCHEMA ${sql(schema)} CASCADE`))
  )
})
