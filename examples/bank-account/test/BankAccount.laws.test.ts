import { describe, expect, it } from "@effect/vitest"
import { BankAccount, BankAccountCommand, Deposit, Withdraw } from "@facta/example-bank-account"
import { Laws } from "@facta/testing"
import { Arbitrary, Effect, FastCheck, Schema } from "effect"

/**
 * Raw amounts reach 2^31, so balances would almost never come back to zero and `CloseAccount`
 * would almost never succeed; a few round amounts make closings and overdrafts common.
 */
const roundAmounts = (command: BankAccountCommand): BankAccountCommand => {
  switch (command._tag) {
    case "OpenAccount":
      return { ...command, overdraftLimit: 100 * (command.overdraftLimit % 4) }
    case "Deposit":
    case "Withdraw":
      return { ...command, amountCents: 100 * (1 + (command.amountCents % 4)) }
    case "CloseAccount":
      return command
  }
}

/** Every kind of command, derived from the command schema. */
const anyCommand = Arbitrary.make(BankAccountCommand).map(roundAmounts)
/** Money moves more often than accounts open and close. */
const moneyMoves = Arbitrary.make(Schema.Union(Deposit, Withdraw)).map(roundAmounts)
const commands = FastCheck.oneof(anyCommand, moneyMoves)
const maxCommands = 30

describe("BankAccount laws", () => {
  it.effect("the command arbitrary gives interesting histories", () =>
    Effect.gen(function*() {
      const samples = FastCheck.sample(FastCheck.array(commands, { maxLength: maxCommands, size: "max" }), {
        numRuns: 300,
        seed: 42
      })
      const histories = yield* Effect.forEach(samples, (sample) => Laws.history(BankAccount, sample))
      const share = (predicate: (history: (typeof histories)[number]) => boolean) =>
        histories.filter(predicate).length / histories.length
      expect(share((h) => h.state._tag === "Closed" && h.events.length >= 4)).toBeGreaterThan(0.03)
      expect(share((h) => h.state._tag === "Closed")).toBeGreaterThan(0.1)
      expect(share((h) => h.state._tag === "Open" && h.state.balanceCents < 0)).toBeGreaterThan(0.03)
      expect(share((h) => h.steps.some((step) => step._tag === "Rejected" && step.error._tag === "InsufficientFunds")))
        .toBeGreaterThan(0.15)
      expect(share((h) => h.events.length >= 10)).toBeGreaterThan(0.1)
    }))

  it.effect("all laws hold", () =>
    Effect.gen(function*() {
      const checked = yield* Laws.check(BankAccount, { commands, maxCommands, numRuns: 200 })
      expect(checked).toEqual([
        "replayIsDeterministic",
        "snapshotRestoresState",
        "eventsRoundTrip",
        "evolveIsTotal",
        "oldVersionsUpcast"
      ])
    }))

  it.effect("the laws also hold for commands straight from the schema, amounts up to 2^31", () =>
    Effect.asVoid(Laws.check(BankAccount, { commands: Arbitrary.make(BankAccountCommand), numRuns: 50 })))
})
