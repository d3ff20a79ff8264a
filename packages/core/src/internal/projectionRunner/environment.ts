/**
 * The record every part of the projection runner is passed: the stores, the services handlers
 * run with, the settings, and one slot per projection with its status, fiber and control.
 */
import type { Context, Duration, Fiber, Schedule, Scope } from "effect"
import { Effect, Option, Ref, SubscriptionRef } from "effect"
import * as CheckpointStore from "../../CheckpointStore.js"
import type * as EventCatalog from "../../EventCatalog.js"
import * as EventStore from "../../EventStore.js"
import * as Projection from "../../Projection.js"
import * as ProjectionStore from "../../ProjectionStore.js"
import type { RecordedEvent } from "../../RecordedEvent.js"
import type { Requirements, Status } from "./models.js"
import { UnknownProjection } from "./models.js"

/** What the runner keeps of a status between calls: `lag` and `heldBack` are asked of the store on each call. */
export type Tracked = Omit<Status, "lag" | "heldBack">

/** An event decoded (and upcast) for the projection's handler. */
export type Decoded = RecordedEvent<{ readonly _tag: string }>

/** One projection on this runner: its definition, decoder, status, running fiber and the lock its controls take. */
export interface Slot {
  /** The projection. */
  readonly projection: Projection.Any
  /** Its decoder: the event, `undefined` for a type it does not handle, or why it did not decode. */
  readonly decode: (recorded: RecordedEvent) => Decoded | undefined | EventCatalog.DecodeError
  /** What the runner tracks of its status. */
  readonly status: SubscriptionRef.SubscriptionRef<Tracked>
  /** The fiber running its lifecycle, while one runs. */
  readonly fiber: Ref.Ref<Option.Option<Fiber.RuntimeFiber<void, unknown>>>
  /** Serializes `start`, `stop`, `rebuild` and `replayParked`. */
  readonly control: Effect.Semaphore
}

/** The runner's options with their defaults applied, as the engine uses them. */
export interface Settings {
  /** This instance's lease owner id. */
  readonly owner: string
  /** How long a lease lasts without renewal. */
  readonly leaseTtl: Duration.Duration
  /** How often a held lease is renewed. */
  readonly renewEvery: Duration.Duration
  /** How often a standby instance tries to take a lease. */
  readonly acquireEvery: Duration.Duration
  /** The back-off after a store error before the projection resumes. */
  readonly restartSchedule: Schedule.Schedule<unknown, unknown>
  /** How long delivery may be held back before the status and the log say so. */
  readonly heldBackThreshold: Duration.Duration
  /** The least time, in milliseconds, between two held-back warnings of one projection. */
  readonly heldBackWarningInterval: number
  /** How often a projection making no progress asks whether it is held back. */
  readonly heldBackCheckEvery: Duration.Duration
}

/** What every part of the runner needs. */
export interface Environment extends Settings {
  /** The event store the projections read. */
  readonly store: EventStore.EventStoreShape
  /** Where their checkpoints are. */
  readonly checkpoints: Context.Tag.Service<typeof CheckpointStore.CheckpointStore>
  /** Leases, fenced transactions and dead letters. */
  readonly projectionStore: Context.Tag.Service<typeof ProjectionStore.ProjectionStore>
  /** The services the layer was built with, which handlers run with. */
  readonly context: Context.Context<never>
  /** The scope the projections' fibers run in. */
  readonly scope: Scope.Scope
  /** One slot per projection, in the order given. */
  readonly slots: ReadonlyMap<string, Slot>
  /** When each projection last warned that it is held back: the rate limit outlives restarts. */
  readonly heldBackWarnedAt: Map<string, number>
}

/** Builds the environment for `projections`, all stopped; dies if two share a name. */
export const make = <const Ps extends ReadonlyArray<Projection.Any>>(
  projections: Ps,
  settings: Settings
): Effect.Effect<Environment, never, Requirements<Ps> | Scope.Scope> =>
  Effect.gen(function*() {
    const slots = new Map<string, Slot>()
    for (const projection of projections) {
      if (slots.has(projection.name)) {
        return yield* Effect.dieMessage(
          `ProjectionRunner: two projections are named ${JSON.stringify(projection.name)}`
        )
      }
      slots.set(projection.name, {
        projection,
        decode: Projection.decodeFor(projection),
        status: yield* SubscriptionRef.make<Tracked>({
          projection: projection.name,
          state: "stopped",
          checkpoint: Option.none(),
          handled: 0,
          parked: 0,
          failure: Option.none(),
          lastError: Option.none()
        }),
        fiber: yield* Ref.make(Option.none<Fiber.RuntimeFiber<void, unknown>>()),
        control: yield* Effect.makeSemaphore(1)
      })
    }
    return {
      ...settings,
      store: yield* EventStore.EventStore,
      checkpoints: yield* CheckpointStore.CheckpointStore,
      projectionStore: yield* ProjectionStore.ProjectionStore,
      context: yield* Effect.context<Projection.Context<Ps[number]>>(),
      scope: yield* Effect.scope,
      slots,
      heldBackWarnedAt: new Map()
    }
  })

/** The slot of the projection named `name`, or `UnknownProjection`. */
export const slotOf = (env: Environment, name: string): Effect.Effect<Slot, UnknownProjection> => {
  const slot = env.slots.get(name)
  return slot === undefined
    ? Effect.fail(new UnknownProjection({ projection: name, known: [...env.slots.keys()] }))
    : Effect.succeed(slot)
}
