// The consumer check's program: a small application written against the published packages,
// compiled by tsc in a scratch project and run by plain node (`memory` or `postgres`).
import {
  Aggregate,
  CheckpointStore,
  CommandHandler,
  Decider,
  EventCatalog,
  EventStore,
  Projection,
  ProjectionRunner,
  ProjectionStore
} from "@facta/core"
import { PgStore } from "@facta/postgres"
import * as Laws from "@facta/testing/Laws"
import * as StoredEvents from "@facta/testing/StoredEvents"
import { Arbitrary, Config, Data, Effect, Layer, Ref, Schema, Stream } from "effect"

const Opened = Schema.TaggedStruct("Opened", { owner: Schema.String })
const Deposited = Schema.TaggedStruct("Deposited", { amountCents: Schema.Int })
const Events = EventCatalog.make([Opened, Deposited])
type Event = typeof Events.schema.Type

const Command = Schema.Union(
  Schema.TaggedStruct("Open", { owner: Schema.String }),
  Schema.TaggedStruct("Deposit", { amountCents: Schema.Int })
)
type Command = typeof Command.Type
interface State {
  readonly open: boolean
  readonly balance: number
}
class NotOpen extends Data.TaggedError("NotOpen")<{}> {}

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

const program = (totals: Ref.Ref<number>) =>
  Effect.gen(function*() {
    const laws = yield* Laws.check(Account, { commands: Arbitrary.make(Command), numRuns: 20 })
    const streamId = `account-${Date.now()}`
    yield* CommandHandler.handle(Account, streamId, { _tag: "Open", owner: "Ada" })
    const { state, version } = yield* CommandHandler.handle(Account, streamId, { _tag: "Deposit", amountCents: 500 })
    const rejected = yield* Effect.flip(
      CommandHandler.handle(Account, "account-closed", { _tag: "Deposit", amountCents: 1 })
    )
    const loaded = yield* Aggregate.load(Account, streamId, { version: 1 })
    // An event as an older release stored it, read back through today's catalog.
    yield* StoredEvents.append(`${streamId}-legacy`, [{ type: "Opened", schemaVersion: 1, data: { owner: "Grace" } }])
    const legacy = yield* Aggregate.load(Account, `${streamId}-legacy`)
    const logged = yield* EventStore.readAll().pipe(Stream.runCount)
    yield* ProjectionRunner.waitForCatchUp("deposits")
    const projected = yield* Ref.get(totals)
    if (
      state.balance !== 500 || version !== 2 || rejected._tag !== "NotOpen" || loaded.state.balance !== 0 ||
      projected < 500 || !legacy.state.open
    ) {
      return yield* Effect.dieMessage(`unexpected result: ${JSON.stringify({ state, version, projected })}`)
    }
    return { laws, state, version, logged, projected }
  })

const mode = process.argv[2] === "postgres" ? "postgres" : "memory"
const main = Effect.gen(function*() {
  const totals = yield* Ref.make(0)
  const Deposits = Projection.make({
    name: "deposits",
    catalog: Events,
    types: ["Deposited"],
    handle: (event) =>
      event.data._tag === "Deposited" ? Ref.update(totals, (n) => n + event.data.amountCents) : Effect.void
  })
  const stores = mode === "postgres"
    ? PgStore.layerConfig({ schema: Config.succeed(`consumer_${process.pid}`) }) // the URL: DATABASE_URL
    : Layer.mergeAll(EventStore.layerMemory, CheckpointStore.layerMemory, ProjectionStore.layerMemory)
  const result = yield* program(totals).pipe(
    Effect.provide(ProjectionRunner.layer([Deposits]).pipe(Layer.provideMerge(stores)))
  )
  console.log(result)
  console.log(`consumer ok (${mode})`)
})

Effect.runPromise(main).catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
