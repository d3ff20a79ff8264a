// Type-level tests of Decider.make's inference: `npm run typecheck` checks them (a wrong
// inference is a compile error here), and vitest runs the same deciders for their behaviour.
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Decider } from "@facta/core"
import { Data, Effect, Exit } from "effect"

type Event =
  | { readonly _tag: "Opened"; readonly owner: string }
  | { readonly _tag: "Deposited"; readonly amountCents: number }

type Command =
  | { readonly _tag: "Open"; readonly owner: string }
  | { readonly _tag: "Deposit"; readonly amountCents: number }
type State = { readonly open: boolean; readonly balance: number }
class NotOpen extends Data.TaggedError("NotOpen")<{}> {}

// The README's shape: no cast on the initial state, no return type on decide.
const Account = Decider.make({
  initialState: { open: false, balance: 0 },
  decide: (command: Command, state: State) =>
    command._tag === "Open"
      ? [{ _tag: "Opened", owner: command.owner }]
      : state.open
      ? [{ _tag: "Deposited", amountCents: command.amountCents }]
      : Effect.fail(new NotOpen()),
  evolve: (state: State, event: Event): State =>
    event._tag === "Opened" ? { ...state, open: true } : { ...state, balance: state.balance + event.amountCents }
})

const open: Command = { _tag: "Open", owner: "Ada" }
const deposit: Command = { _tag: "Deposit", amountCents: 500 }

describe("Decider.make infers", () => {
  it.effect("Decider<Command, State, Event, NotOpen, never> from the README's decider", () =>
    Effect.gen(function*() {
      expectTypeOf(Account).toEqualTypeOf<Decider.Decider<Command, State, Event, NotOpen, never>>()
      expectTypeOf(Account.initialState).toEqualTypeOf<State>()
      const opened = yield* Decider.run(Account, open, Account.initialState)
      expect(opened).toEqual({ events: [{ _tag: "Opened", owner: "Ada" }], state: { open: true, balance: 0 } })
      const deposited = yield* Decider.run(Account, deposit, opened.state)
      expect(deposited.state).toEqual({ open: true, balance: 500 })
      const refused = yield* Effect.exit(Account.decide(deposit, Account.initialState))
      expect(refused).toEqual(Exit.fail(new NotOpen()))
    }))

  it.effect("keeps the command type of a decider spread into make with one function replaced", () =>
    Effect.gen(function*() {
      const Rich = Decider.make({ ...Account, isTerminal: (state) => state.balance >= 1_000 })
      expectTypeOf(Rich).toEqualTypeOf<Decider.Decider<Command, State, Event, NotOpen, never>>()
      expectTypeOf(Rich.decide).parameter(0).toEqualTypeOf<Command>()
      const Logged = Decider.make({
        ...Account,
        decide: (command: Command, state: State) => Effect.tap(Account.decide(command, state), () => Effect.void)
      })
      expectTypeOf(Logged).toEqualTypeOf<Decider.Decider<Command, State, Event, NotOpen, never>>()
      expect(Decider.isTerminal(Rich, { open: true, balance: 1_000 })).toBe(true)
      expect(Decider.isTerminal(Account, { open: true, balance: 1_000 })).toBe(false)
      expect(yield* Rich.decide(open, Rich.initialState)).toEqual([{ _tag: "Opened", owner: "Ada" }])
      expect(yield* Logged.decide(open, Logged.initialState)).toEqual([{ _tag: "Opened", owner: "Ada" }])
    }))

  it.effect("the events from an annotated decide when evolve is not annotated, the state from the initial state alone", () =>
    Effect.gen(function*() {
      const Tally = Decider.make({
        initialState: 0,
        decide: (command: Command): Effect.Effect<ReadonlyArray<Event>> =>
          Effect.succeed(command._tag === "Deposit" ? [{ _tag: "Deposited", amountCents: command.amountCents }] : []),
        evolve: (total, event) => event._tag === "Deposited" ? total + event.amountCents : total
      })
      expectTypeOf(Tally).toEqualTypeOf<Decider.Decider<Command, number, Event, never, never>>()
      expect(Decider.replay(Tally, yield* Tally.decide(deposit, 0))).toBe(500)
    }))

  it("rejects an event literal that is not one of evolve's events", () => {
    const Typo = Decider.make({
      initialState: { open: false, balance: 0 },
      // @ts-expect-error "Opend" is not an event type
      decide: (command: Command, _state: State) =>
        command._tag === "Open" ? [{ _tag: "Opend", owner: command.owner }] : [],
      evolve: (state: State, _event: Event): State => state
    })
    expect(Typo.initialState).toEqual({ open: false, balance: 0 })
  })
})
