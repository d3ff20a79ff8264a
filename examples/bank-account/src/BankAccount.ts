/**
 * A bank account: open, deposit, withdraw (with an overdraft limit), close.
 *
 * Amounts are integer cents. The `Deposited` event went through two schema versions before
 * today's: v1 stored `amount` in whole euros, v2 added `currency`, v3 (current) stores cents.
 */
import { Aggregate, Decider, EventCatalog } from "@facta/core"
import { Data, Effect, Schema } from "effect"

// ---------------------------------------------------------------------------------------------
// events
// ---------------------------------------------------------------------------------------------

const Cents = Schema.Int.pipe(Schema.nonNegative())

export const AccountOpened = Schema.TaggedStruct("AccountOpened", {
  owner: Schema.NonEmptyTrimmedString,
  overdraftLimit: Cents
})

/** An amount in euros as the first releases stored it: at least a cent, so it upcasts to a positive number of cents. */
const Euros = Schema.Number.pipe(
  Schema.greaterThanOrEqualTo(0.01),
  Schema.lessThanOrEqualTo(Number.MAX_SAFE_INTEGER / 100)
)
/** Deposits as first stored: euros, no currency. */
export const DepositedV1 = Schema.TaggedStruct("Deposited", { amount: Euros })
/** Second version: a currency code. */
export const DepositedV2 = Schema.TaggedStruct("Deposited", { amount: Euros, currency: Schema.String })
/** Today's deposit: integer cents and a currency. */
export const Deposited = Schema.TaggedStruct("Deposited", {
  amountCents: Cents.pipe(Schema.positive()),
  currency: Schema.String
})

export const DepositedHistory = EventCatalog.history(DepositedV1)
  .upcast(DepositedV2, (v1) => ({ _tag: "Deposited" as const, amount: v1.amount, currency: "EUR" }))
  .upcast(
    Deposited,
    (v2) => ({ _tag: "Deposited" as const, amountCents: Math.round(v2.amount * 100), currency: v2.currency })
  )

export const Withdrawn = Schema.TaggedStruct("Withdrawn", { amountCents: Cents.pipe(Schema.positive()) })

export const AccountClosed = Schema.TaggedStruct("AccountClosed", { reason: Schema.String })

/** All bank account events; `FundsDeposited` is the name deposits had in the first release. */
export const BankAccountEvents = EventCatalog.make([AccountOpened, DepositedHistory, Withdrawn, AccountClosed], {
  renames: { FundsDeposited: "Deposited" }
})

export type BankAccountEvent = typeof BankAccountEvents.schema.Type

// ---------------------------------------------------------------------------------------------
// commands and domain errors
// ---------------------------------------------------------------------------------------------

export const OpenAccount = Schema.TaggedStruct("OpenAccount", {
  owner: Schema.NonEmptyTrimmedString,
  overdraftLimit: Cents
})
export const Deposit = Schema.TaggedStruct("Deposit", {
  amountCents: Cents.pipe(Schema.positive()),
  currency: Schema.Literal("EUR")
})
export const Withdraw = Schema.TaggedStruct("Withdraw", { amountCents: Cents.pipe(Schema.positive()) })
export const CloseAccount = Schema.TaggedStruct("CloseAccount", { reason: Schema.String })

export const BankAccountCommand = Schema.Union(OpenAccount, Deposit, Withdraw, CloseAccount)
export type BankAccountCommand = typeof BankAccountCommand.Type

export class AccountAlreadyOpened extends Data.TaggedError("AccountAlreadyOpened")<{}> {
  override get message() {
    return "The account is already open"
  }
}
export class AccountNotOpen extends Data.TaggedError("AccountNotOpen")<{}> {
  override get message() {
    return "The account is not open"
  }
}
export class AccountClosedError extends Data.TaggedError("AccountClosedError")<{}> {
  override get message() {
    return "The account is closed"
  }
}
export class InsufficientFunds extends Data.TaggedError("InsufficientFunds")<{
  readonly balanceCents: number
  readonly overdraftLimitCents: number
  readonly requestedCents: number
}> {
  override get message() {
    return `Withdrawing ${this.requestedCents} cents would exceed the overdraft limit of ${this.overdraftLimitCents} (balance ${this.balanceCents})`
  }
}
export class BalanceNotZero extends Data.TaggedError("BalanceNotZero")<{ readonly balanceCents: number }> {
  override get message() {
    return `The account can only be closed at a zero balance (balance ${this.balanceCents})`
  }
}

export type BankAccountError =
  | AccountAlreadyOpened
  | AccountNotOpen
  | AccountClosedError
  | InsufficientFunds
  | BalanceNotZero

// ---------------------------------------------------------------------------------------------
// state and decider
// ---------------------------------------------------------------------------------------------

export const BankAccountState = Schema.Union(
  Schema.TaggedStruct("Unopened", {}),
  Schema.TaggedStruct("Open", { owner: Schema.String, balanceCents: Schema.Int, overdraftLimitCents: Schema.Int }),
  Schema.TaggedStruct("Closed", { owner: Schema.String })
)
export type BankAccountState = typeof BankAccountState.Type

const unopened: BankAccountState = { _tag: "Unopened" }

export const decide = (
  command: BankAccountCommand,
  state: BankAccountState
): Effect.Effect<ReadonlyArray<BankAccountEvent>, BankAccountError> => {
  switch (command._tag) {
    case "OpenAccount":
      return state._tag === "Unopened"
        ? Effect.succeed([{ _tag: "AccountOpened", owner: command.owner, overdraftLimit: command.overdraftLimit }])
        : Effect.fail(new AccountAlreadyOpened())
    case "Deposit":
      return state._tag === "Open"
        ? Effect.succeed([{ _tag: "Deposited", amountCents: command.amountCents, currency: command.currency }])
        : Effect.fail(state._tag === "Closed" ? new AccountClosedError() : new AccountNotOpen())
    case "Withdraw":
      if (state._tag !== "Open") {
        return Effect.fail(state._tag === "Closed" ? new AccountClosedError() : new AccountNotOpen())
      }
      return state.balanceCents - command.amountCents < -state.overdraftLimitCents
        ? Effect.fail(
          new InsufficientFunds({
            balanceCents: state.balanceCents,
            overdraftLimitCents: state.overdraftLimitCents,
            requestedCents: command.amountCents
          })
        )
        : Effect.succeed([{ _tag: "Withdrawn", amountCents: command.amountCents }])
    case "CloseAccount":
      if (state._tag === "Closed") return Effect.succeed([])
      if (state._tag !== "Open") return Effect.fail(new AccountNotOpen())
      return state.balanceCents !== 0
        ? Effect.fail(new BalanceNotZero({ balanceCents: state.balanceCents }))
        : Effect.succeed([{ _tag: "AccountClosed", reason: command.reason }])
  }
}

type Open = Extract<BankAccountState, { readonly _tag: "Open" }>

const open = (state: Open, balanceCents: number): Open => ({
  _tag: "Open",
  owner: state.owner,
  balanceCents,
  overdraftLimitCents: state.overdraftLimitCents
})

export const evolve = (state: BankAccountState, event: BankAccountEvent): BankAccountState => {
  switch (event._tag) {
    case "AccountOpened":
      return state._tag === "Unopened"
        ? { _tag: "Open", owner: event.owner, balanceCents: 0, overdraftLimitCents: event.overdraftLimit }
        : state
    // The new state written out rather than spread from the old one: evolve runs once per event
    // of every load, and on Node 20 an object spread costs some 25 times a literal.
    case "Deposited":
      return state._tag === "Open" ? open(state, state.balanceCents + event.amountCents) : state
    case "Withdrawn":
      return state._tag === "Open" ? open(state, state.balanceCents - event.amountCents) : state
    case "AccountClosed":
      return state._tag === "Open" ? { _tag: "Closed", owner: state.owner } : state
  }
}

export const BankAccountDecider = Decider.make({
  initialState: unopened,
  decide,
  evolve,
  isTerminal: (state: BankAccountState) => state._tag === "Closed"
})

/** The bank account aggregate: streams `bank_account-<id>`, a snapshot every 10 events. */
export const BankAccount = Aggregate.make({
  category: "bank_account",
  catalog: BankAccountEvents,
  decider: BankAccountDecider,
  snapshots: { schema: BankAccountState, schemaVersion: 1, every: 10 }
})
