import { describe, it } from "@effect/vitest"
import {
  AccountAlreadyOpened,
  AccountClosedError,
  AccountNotOpen,
  BalanceNotZero,
  BankAccount,
  type BankAccountCommand,
  type BankAccountEvent,
  InsufficientFunds
} from "@facta/example-bank-account"
import { DeciderSpec } from "@facta/testing"

const spec = DeciderSpec.for(BankAccount)

const opened: BankAccountEvent = { _tag: "AccountOpened", owner: "Ada", overdraftLimit: 200 }
const deposited = (amountCents: number): BankAccountEvent => ({ _tag: "Deposited", amountCents, currency: "EUR" })
const withdrawn = (amountCents: number): BankAccountEvent => ({ _tag: "Withdrawn", amountCents })
const closed: BankAccountEvent = { _tag: "AccountClosed", reason: "moving abroad" }

const open: BankAccountCommand = { _tag: "OpenAccount", owner: "Ada", overdraftLimit: 200 }
const deposit = (amountCents: number): BankAccountCommand => ({ _tag: "Deposit", amountCents, currency: "EUR" })
const withdraw = (amountCents: number): BankAccountCommand => ({ _tag: "Withdraw", amountCents })
const close: BankAccountCommand = { _tag: "CloseAccount", reason: "moving abroad" }

describe("BankAccount", () => {
  describe("opening", () => {
    it.effect("opens an account with a zero balance", () =>
      spec.when(open).then([opened], {
        state: { _tag: "Open", owner: "Ada", balanceCents: 0, overdraftLimitCents: 200 }
      }))

    it.effect("refuses to open an account twice", () =>
      spec.given([opened]).when(open).thenFails(new AccountAlreadyOpened()))
  })

  describe("deposits", () => {
    it.effect("adds the deposit to the balance", () =>
      spec.given([opened, deposited(300)]).when(deposit(250)).then([deposited(250)], {
        state: { _tag: "Open", owner: "Ada", balanceCents: 550, overdraftLimitCents: 200 }
      }))

    it.effect("refuses deposits before the account is opened", () =>
      spec.when(deposit(100)).thenFails(new AccountNotOpen()))

    it.effect("refuses deposits after the account is closed", () =>
      spec.given([opened, closed]).when(deposit(100)).thenFails("AccountClosedError"))
  })

  describe("withdrawals", () => {
    it.effect("withdraws within the balance", () =>
      spec.given([opened, deposited(500)]).when(withdraw(300)).then([withdrawn(300)]))

    it.effect("withdraws into the overdraft, down to exactly the limit", () =>
      spec.given([opened, deposited(100)]).when(withdraw(300)).thenState({
        _tag: "Open",
        owner: "Ada",
        balanceCents: -200,
        overdraftLimitCents: 200
      }))

    it.effect("rejects a withdrawal beyond the overdraft limit with the balance, limit and amount", () =>
      spec.given([opened, deposited(100)]).when(withdraw(301)).thenFails(
        new InsufficientFunds({ balanceCents: 100, overdraftLimitCents: 200, requestedCents: 301 })
      ))

    it.effect("counts earlier withdrawals against the overdraft", () =>
      spec.given([opened, withdrawn(150)]).when(withdraw(51)).thenFails(
        (error) => error._tag === "InsufficientFunds" && error.balanceCents === -150 && error.requestedCents === 51
      ))

    it.effect("refuses withdrawals before the account is opened", () =>
      spec.when(withdraw(1)).thenFails(new AccountNotOpen()))

    it.effect("refuses withdrawals after the account is closed", () =>
      spec.given([opened, closed]).when(withdraw(1)).thenFails(new AccountClosedError()))
  })

  describe("closing", () => {
    it.effect("closes an account at a zero balance", () =>
      spec.given([opened, deposited(400), withdrawn(400)]).when(close).then([closed], {
        state: { _tag: "Closed", owner: "Ada" }
      }))

    it.effect("refuses to close an account with money on it", () =>
      spec.given([opened, deposited(400)]).when(close).thenFails(new BalanceNotZero({ balanceCents: 400 })))

    it.effect("refuses to close an overdrawn account", () =>
      spec.given([opened, withdrawn(50)]).when(close).thenFails(new BalanceNotZero({ balanceCents: -50 })))

    it.effect("refuses to close an account that was never opened", () =>
      spec.when(close).thenFails(new AccountNotOpen()))

    it.effect("closing a closed account again changes nothing", () =>
      spec.given([opened, closed]).when(close).thenNothing())

    it.effect("a closed account cannot be reopened", () =>
      spec.given([opened, closed]).when(open).thenFails("AccountAlreadyOpened"))
  })
})
