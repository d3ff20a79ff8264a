import type { RecordedEvent } from "@facta/core"
import {
  CheckpointStore,
  EventCatalog,
  EventStore,
  ExpectedVersion,
  Projection,
  ProjectionRunner,
  ProjectionStore
} from "@facta/core"
import type { Position } from "@facta/core"
import type { Scope } from "effect"
import { Chunk, Data, Duration, Effect, Schedule, Schema, Stream } from "effect"
import type { Option } from "effect"

/** A row of the suite's read model: one per handled event. */
export interface Row {
  /** The handled event's id. */
  readonly eventId: string
  /** The stream the event belongs to. */
  readonly streamId: string
  /** The event's version in its stream. */
  readonly streamVersion: number
  /** The `n` of the `Counted` event (the case numbers its events from 1). */
  readonly n: number
}

/**
 * Where the suite's projections keep their rows, one set per projection name.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadModel<R> {
  /** Adds one row. */
  readonly insert: (projection: string, row: Row) => Effect.Effect<void, unknown, R>
  /** The rows of `projection`, in insertion order. */
  readonly rows: (projection: string) => Effect.Effect<ReadonlyArray<Row>, unknown, R>
  /** Deletes the rows of `projection`. */
  readonly clear: (projection: string) => Effect.Effect<void, unknown, R>
  /** Whether a failed batch's rows are rolled back with it (true on SQL stores). */
  readonly transactional: boolean
}

export interface SuiteSettings {
  readonly waitTimeout: Duration.Duration
}

const CountedV1 = Schema.TaggedStruct("Counted", { n: Schema.Int })
export const Counted = Schema.TaggedStruct("Counted", { n: Schema.Int, label: Schema.String })
export type Counted = typeof Counted.Type
const Ignored = Schema.TaggedStruct("Ignored", { note: Schema.String })
type Ignored = typeof Ignored.Type

/** Counted went through two versions and was once stored as `Tallied`. */
export const countedEvents = EventCatalog.make([
  EventCatalog.history(CountedV1).upcast(Counted, (v1) => ({ ...v1, label: "" })),
  Ignored
], { renames: { Tallied: "Counted" } })

export class HandlerBoom extends Data.TaggedError("HandlerBoom")<{ readonly n: number }> {
  override get message() {
    return `the handler refused event ${this.n}`
  }
}

export class Stalled extends Data.TaggedError("Stalled")<{ readonly after: Duration.Duration }> {
  override get message() {
    return `the condition did not hold within ${Duration.format(this.after)}`
  }
}

type Stores = EventStore.EventStore | CheckpointStore.CheckpointStore | ProjectionStore.ProjectionStore

export interface ProjectionOptions<R> {
  readonly name?: string
  /** Read every event of the case's category, not just `Counted` (unknown types then reach the policy). */
  readonly everyType?: boolean
  readonly categories?: ReadonlyArray<string>
  readonly batchSize?: number
  readonly onFailure?: Projection.FailurePolicy
  readonly retry?: Schedule.Schedule<unknown, unknown>
  /** Called with every event before it is handled. */
  readonly onEvent?: (event: RecordedEvent.RecordedEvent<Counted>) => Effect.Effect<void, never, R>
  /** Called with every multi-event batch before it is handled. */
  readonly onBatch?: (events: ReadonlyArray<RecordedEvent.RecordedEvent<Counted>>) => Effect.Effect<void>
  /** The handler fails on events for which this returns true (checked on every attempt). */
  readonly failWhen?: (event: RecordedEvent.RecordedEvent<Counted>) => boolean
}

export interface Fixture<R> {
  /** A projection name unique to this case. */
  readonly name: string
  /** A stream category unique to this case. */
  readonly category: string
  readonly stream: () => string
  /** Appends `count` Counted events, numbered on from the last, to a new stream. */
  readonly append: (count: number) => Effect.Effect<void, EventStore.AppendError, EventStore.EventStore>
  readonly appendRaw: (
    streamId: string,
    events: ReadonlyArray<{ readonly type: string; readonly schemaVersion: number; readonly data: unknown }>
  ) => Effect.Effect<void, EventStore.AppendError, EventStore.EventStore>
  /** The case's events in log order. */
  readonly events: Effect.Effect<
    ReadonlyArray<RecordedEvent.RecordedEvent>,
    EventStore.EventStoreUnavailable,
    EventStore.EventStore
  >
  readonly rows: Effect.Effect<ReadonlyArray<Row>, unknown, R>
  readonly rowsOf: (projection: string) => Effect.Effect<ReadonlyArray<Row>, unknown, R>
  readonly checkpoint: Effect.Effect<
    Option.Option<Position.Position>,
    CheckpointStore.CheckpointStoreUnavailable,
    CheckpointStore.CheckpointStore
  >
  readonly projection: (options?: ProjectionOptions<R>) => Projection.Projection<Counted, unknown, R>
  readonly runner: (
    projections: ReadonlyArray<Projection.Projection<Counted, unknown, R>>,
    options?: ProjectionRunner.Options
  ) => Effect.Effect<ProjectionRunner.ProjectionRunnerShape, never, Stores | R | Scope.Scope>
  /** Polls `condition` until it holds; fails with `Stalled` after the suite's wait timeout. */
  readonly waitUntil: <E, R2>(condition: () => Effect.Effect<boolean, E, R2>) => Effect.Effect<void, E | Stalled, R2>
  readonly settings: SuiteSettings
}

export const makeFixture = <R>(readModel: ReadModel<R>, settings: SuiteSettings) =>
  Effect.sync((): Fixture<R> => {
    const id = crypto.randomUUID().replaceAll("-", "").slice(0, 16)
    const name = `projection_${id}`
    const category = `counted_${id}`
    let next = 1
    const stream = () => `${category}-${crypto.randomUUID()}`
    const newEvent = (type: string, schemaVersion: number, data: unknown): RecordedEvent.NewEvent => ({
      eventId: crypto.randomUUID(),
      type,
      schemaVersion,
      data,
      metadata: {}
    })
    const appendRaw: Fixture<R>["appendRaw"] = (streamId, events) =>
      EventStore.append(
        streamId,
        events.map((event) => newEvent(event.type, event.schemaVersion, event.data)),
        ExpectedVersion.Any
      ).pipe(Effect.asVoid)
    const waitUntil: Fixture<R>["waitUntil"] = (condition) =>
      Effect.gen(function*() {
        const deadline = Date.now() + Duration.toMillis(settings.waitTimeout)
        while (!(yield* condition())) {
          if (Date.now() > deadline) return yield* Effect.fail(new Stalled({ after: settings.waitTimeout }))
          yield* Effect.sleep(Duration.millis(20))
        }
      })
    return {
      name,
      category,
      stream,
      append: (count) =>
        Effect.suspend(() => {
          const events = Array.from({ length: count }, () => newEvent("Counted", 2, { n: next++, label: "" }))
          return Effect.asVoid(EventStore.append(stream(), events, ExpectedVersion.NoStream))
        }),
      appendRaw,
      events: EventStore.readAll({ filter: { categories: [category] } }).pipe(
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      ),
      rows: readModel.rows(name),
      rowsOf: readModel.rows,
      checkpoint: CheckpointStore.CheckpointStore.pipe(Effect.flatMap((store) => store.load(name))),
      projection: (options = {}) => {
        const projectionName = options.name ?? name
        const handleCounted = (event: RecordedEvent.RecordedEvent<Counted>) =>
          Effect.gen(function*() {
            if (options.onEvent !== undefined) yield* options.onEvent(event)
            if (options.failWhen?.(event) === true) return yield* Effect.fail(new HandlerBoom({ n: event.data.n }))
            yield* readModel.insert(projectionName, {
              eventId: event.eventId,
              streamId: event.streamId,
              streamVersion: event.streamVersion,
              n: event.data.n
            })
          })
        const counted = (events: ReadonlyArray<RecordedEvent.RecordedEvent<Counted | Ignored>>) =>
          events.filter((event): event is RecordedEvent.RecordedEvent<Counted> => event.data._tag === "Counted")
        const definition = {
          name: projectionName,
          catalog: countedEvents,
          categories: options.categories ?? [category],
          handle: (event: RecordedEvent.RecordedEvent<Counted | Ignored>) =>
            Effect.forEach(counted([event]), handleCounted, { discard: true }),
          handleBatch: (events: ReadonlyArray<RecordedEvent.RecordedEvent<Counted | Ignored>>) =>
            Effect.zipRight(
              options.onBatch?.(counted(events)) ?? Effect.void,
              Effect.forEach(counted(events), handleCounted, { discard: true })
            ),
          reset: readModel.clear(projectionName),
          onFailure: options.onFailure ?? "stop",
          retry: options.retry ?? quickRetry,
          batchSize: options.batchSize ?? 100
        }
        const projection = options.everyType === true
          ? Projection.make(definition)
          : Projection.make({ ...definition, types: ["Counted"] })
        return projection as Projection.Projection<Counted, unknown, R>
      },
      runner: (projections, options = {}) =>
        ProjectionRunner.make(projections, {
          leaseTtl: Duration.seconds(2),
          acquireInterval: Duration.millis(50),
          ...options
        }) as Effect.Effect<ProjectionRunner.ProjectionRunnerShape, never, Stores | R | Scope.Scope>,
      waitUntil,
      settings
    }
  })

/** Retries fast, so failure cases finish quickly. */
export const quickRetry: Schedule.Schedule<unknown, unknown> = Schedule.intersect(
  Schedule.spaced(Duration.millis(5)),
  Schedule.recurs(2)
)
