import { describe, expect, layer } from "@effect/vitest"
import { CommandHandler, EventCatalog, ProjectionRunner } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Effect, Layer, Stream } from "effect"
import { storesLayer } from "../../../packages/postgres/test/support.js"
import * as AccountBalances from "../src/AccountBalances.js"
import type { BankAccountCommand } from "../src/BankAccount.js"
import { BankAccount, BankAccountEvents } from "../src/BankAccount.js"

const schema = uniqueSchemaName()
const stores = storesLayer(schema)
const readModel = Layer.effectDiscard(AccountBalances.migrate(schema)).pipe(Layer.provide(stores))
const runner = ProjectionRunner.layer([AccountBalances.projection(schema)], { leaseTtl: "2 seconds" })
const app = runner.pipe(Layer.provideMerge(Layer.merge(stores, readModel)))

const handle = CommandHandler.make(BankAccount)
const run = (account: string, ...commands: ReadonlyArray<BankAccountCommand>) =>
  Effect.forEach(commands, (command) => handle(`bank_account-${account}`, command), { discard: true })

const rows = AccountBalances.list(schema).pipe(
  Effect.map((list) => list.map(({ updatedAt: _, ...row }) => row))
)

layer(app, { excludeTestServices: true })("AccountBalances on Postgres", (it) => {
  describe("the balance list", () => {
    it.effect("given opened accounts, deposits, withdrawals and a closure, lists one row per account", () =>
      Effect.gen(function*() {
        yield* run("ada", { _tag: "OpenAccount", owner: "Ada", overdraftLimit: 0 }, {
          _tag: "Deposit",
          amountCents: 120_00,
          currency: "EUR"
        }, { _tag: "Withdraw", amountCents: 20_00 })
        yield* run("bob", { _tag: "OpenAccount", owner: "Bob", overdraftLimit: 50_00 }, {
          _tag: "Withdraw",
          amountCents: 30_00
        })
        yield* run("dee", { _tag: "OpenAccount", owner: "Dee", overdraftLimit: 0 }, {
          _tag: "Deposit",
          amountCents: 9_00,
          currency: "EUR"
        })
        yield* run("cy", { _tag: "OpenAccount", owner: "Cy", overdraftLimit: 0 }, {
          _tag: "CloseAccount",
          reason: "moved"
        })
        yield* ProjectionRunner.waitForCatchUp("account_balances")
        expect(yield* rows).toEqual([
          {
            accountId: "ada",
            owner: "Ada",
            status: "open",
            balanceCents: 100_00,
            deposits: 1,
            withdrawals: 1,
            version: 3
          },
          {
            accountId: "dee",
            owner: "Dee",
            status: "open",
            balanceCents: 9_00,
            deposits: 1,
            withdrawals: 0,
            version: 2
          },
          { accountId: "cy", owner: "Cy", status: "closed", balanceCents: 0, deposits: 0, withdrawals: 0, version: 2 },
          {
            accountId: "bob",
            owner: "Bob",
            status: "open",
            balanceCents: -30_00,
            deposits: 0,
            withdrawals: 1,
            version: 2
          }
        ])
        const closed = yield* AccountBalances.list(schema, { status: "closed" })
        expect(closed.map((row) => row.accountId)).toEqual(["cy"])
      }))

    it.effect("follows new commands live, and a rebuild (replaying every event again) gives the same rows", () =>
      Effect.gen(function*() {
        yield* run("ada", { _tag: "Deposit", amountCents: 5_00, currency: "EUR" })
        yield* ProjectionRunner.waitForCatchUp("account_balances")
        const live = yield* rows
        expect(live.find((row) => row.accountId === "ada")).toMatchObject({
          balanceCents: 105_00,
          deposits: 2,
          version: 4
        })
        yield* ProjectionRunner.rebuild("account_balances")
        yield* ProjectionRunner.waitForCatchUp("account_balances")
        expect(yield* rows).toEqual(live)
      }))

    it.effect("handling the same events twice changes nothing (each row remembers its version)", () =>
      Effect.gen(function*() {
        yield* ProjectionRunner.waitForCatchUp("account_balances")
        const before = yield* rows
        const events = yield* EventCatalog.readAll(BankAccountEvents, { filter: { categories: ["bank_account"] } })
          .pipe(
            Stream.runCollect
          )
        expect(events.length).toBeGreaterThan(0)
        yield* Effect.forEach(events, AccountBalances.projection(schema).handle, { discard: true })
        expect(yield* rows).toEqual(before)
      }))
  })
})
