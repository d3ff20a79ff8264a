import { Aggregate, CommandHandler, Decider, EventCatalog, EventStore } from "@facta/core"
import { Data, Effect, Schema } from "effect"

// Events are schemas. Their _tag is the stored event type.
const Opened = Schema.TaggedStruct("Opened", { owner: Schema.String })
const Deposited = Schema.TaggedStruct("Deposited", { amountCents: Schema.Int })
const Events = EventCatalog.make([Opened, Deposited])
type Event = typeof Events.schema.Type

type Command =
  | { readonly _tag: "Open"; readonly owner: string }
  | { readonly _tag: "Deposit"; readonly amountCents: number }
type State = { readonly open: boolean; readonly balance: number }
class NotOpen extends Data.TaggedError("NotOpen")<{}> {}

// The decider is pure: decide returns events (or a typed domain error), evolve folds one event.
const Account = Aggregate.make({
  category: "account",
  catalog: Events,
  decider: Decider.make({
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
})

const program = Effect.gen(function*() {
  yield* CommandHandler.handle(Account, "account-42", { _tag: "Open", owner: "Ada" })
  const { state, version } = yield* CommandHandler.handle(Account, "account-42", { _tag: "Deposit", amountCents: 500 })
  return { state, version }
})

Effect.runPromise(program.pipe(Effect.provide(EventStore.layerMemory))).then(console.log)
// { state: { open: true, balance: 500 }, version: 2 }
