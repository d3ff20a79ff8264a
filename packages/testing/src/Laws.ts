/**
 * Property laws every aggregate should obey, checked with fast-check over histories that its
 * own decider produces from random commands:
 *
 * - `replayIsDeterministic`: folding the same events twice, the second time with the clock moved
 *   (`Date`), gives equal states;
 * - `snapshotRestoresState`: a snapshot taken after any prefix of the history (encoded with the
 *   aggregate's snapshot schema, through JSON text, decoded), plus the rest of the events,
 *   gives the state a full replay gives;
 * - `eventsRoundTrip`: every decided event, and random events of every catalog type, encode with
 *   the catalog, survive JSON, decode back to equal events and re-encode to the same JSON;
 * - `oldVersionsUpcast`: random payloads of every older schema version of an event type, stored
 *   as that version, decode through the upcasters to valid current events that `evolve` takes
 *   (checked when the catalog has a type with more than one version);
 * - `evolveIsTotal`: over random events from the catalog's schema (not only decided ones),
 *   `evolve` never throws and replay is deterministic.
 *
 * ```ts
 * const commands = Arbitrary.make(BankAccountCommand)
 * it.effect("bank account laws", () => Laws.check(BankAccount, { commands, numRuns: 200 }))
 * ```
 *
 * A law that does not hold fails the effect with a `LawViolation` carrying fast-check's report:
 * the shrunk counterexample, what went wrong, and the seed and path to replay it.
 *
 * @since 0.1.0
 */
import type { Aggregate, RecordedEvent } from "@facta/core"
import { Decider, EventCatalog, StreamId } from "@facta/core"
import { Arbitrary, Cause, Data, Effect, Either, Equal, Exit, FastCheck, Option, Runtime, Schema, Utils } from "effect"
import { isDeepStrictEqual } from "node:util"
import { fingerprint, render } from "./internal/describe.js"

// ---------------------------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------------------------

/**
 * The name of a law.
 *
 * @since 0.1.0
 * @category models
 */
export type Law =
  | "replayIsDeterministic"
  | "snapshotRestoresState"
  | "eventsRoundTrip"
  | "evolveIsTotal"
  | "oldVersionsUpcast"

/**
 * A law did not hold. `report` is fast-check's account of the failure: the shrunk
 * counterexample (a list of commands, or of events for `evolveIsTotal`), the error, and the
 * `seed` and `path` that replay it (pass them back in the options).
 *
 * @since 0.1.0
 * @category errors
 */
export class LawViolation extends Data.TaggedError("LawViolation")<{
  /** The law that did not hold. */
  readonly law: Law
  /** The aggregate's stream category. */
  readonly category: string
  /** The arguments of the shrunk failing case: `[commands]` or `[events]`. */
  readonly counterexample: ReadonlyArray<unknown>
  /** The run's seed: pass it back as `seed` to replay the failure. */
  readonly seed: number
  /** Pass it back as `path`, with `seed`, to go straight to the shrunk counterexample (`undefined`: none). */
  readonly path: string | undefined
  /** fast-check's account of the failure: the counterexample, the error, the seed and path. */
  readonly report: string
}> {
  /** Names the law and the aggregate's category, then fast-check's report. */
  override get message(): string {
    return `The law ${this.law} does not hold for the aggregate ${JSON.stringify(this.category)}.\n${this.report}`
  }
}

/**
 * How many cases to try and how to replay a failure.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  /** How many cases to try per law. Default 100. */
  readonly numRuns?: number
  /** Replays a failure: the seed printed in a `LawViolation`. */
  readonly seed?: number
  /** With `seed`, goes straight to the shrunk counterexample. */
  readonly path?: string
}

/**
 * Options of the laws checked over decided histories.
 *
 * @since 0.1.0
 * @category models
 */
export interface HistoryOptions<C> extends RunOptions {
  /**
   * The commands to try, usually derived from the command schema:
   * `Arbitrary.make(BankAccountCommand)`. Commands the decider rejects are skipped.
   */
  readonly commands: FastCheck.Arbitrary<C>
  /** The most commands in one history; lengths spread from 0 up to it. Default 20. */
  readonly maxCommands?: number
}

/**
 * Options of `evolveIsTotal`.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventOptions<E> extends RunOptions {
  /** Random events; default `Arbitrary.make(aggregate.catalog.schema)`. */
  readonly events?: FastCheck.Arbitrary<E>
  /** The most events in one random history. Default 20. */
  readonly maxEvents?: number
}

/**
 * Options of `oldVersionsUpcast`.
 *
 * @since 0.1.0
 * @category models
 */
export interface UpcastOptions extends RunOptions {
  /** The most old events in one random history. Default 20. */
  readonly maxEvents?: number
}

/**
 * Options of `eventsRoundTrip`: the decided histories, and random events of every catalog type.
 *
 * @since 0.1.0
 * @category models
 */
export interface RoundTripOptions<C, E> extends HistoryOptions<C> {
  /** Random events of every type; default `Arbitrary.make(aggregate.catalog.schema)`. */
  readonly events?: FastCheck.Arbitrary<E>
  /** The most random events in one case. Default 20. */
  readonly maxEvents?: number
}

/**
 * Options of `check`: commands for the history laws, events for `evolveIsTotal`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckOptions<C, E> extends HistoryOptions<C>, EventOptions<E> {}

/**
 * One command of a generated history and what the decider made of it.
 *
 * @since 0.1.0
 * @category models
 */
export type Step<C, E, Err> =
  | {
    /** The decider accepted the command. */
    readonly _tag: "Accepted"
    /** The command decided. */
    readonly command: C
    /** The events it decided (possibly none). */
    readonly events: ReadonlyArray<E>
  }
  | {
    /** The decider rejected the command with a domain error. */
    readonly _tag: "Rejected"
    /** The command decided. */
    readonly command: C
    /** The domain error it failed with. */
    readonly error: Err
  }

/**
 * A history built by deciding commands one after the other from the initial state.
 *
 * @since 0.1.0
 * @category models
 */
export interface History<C, S, E, Err> {
  /** Each command in order, with the events it caused or the error it was rejected with. */
  readonly steps: ReadonlyArray<Step<C, E, Err>>
  /** The events of the accepted commands, in order. */
  readonly events: ReadonlyArray<E>
  /** The state after them. */
  readonly state: S
}

// ---------------------------------------------------------------------------------------------
// histories
// ---------------------------------------------------------------------------------------------

/**
 * Decides `commands` one after the other from the initial state, folding the events of each
 * accepted command before the next; commands that fail with a domain error are recorded as
 * rejected and change nothing. This is how the laws build valid histories; use it to see
 * whether a command arbitrary gives interesting histories.
 *
 * @since 0.1.0
 * @category histories
 */
export const history = <C, S, E, Err, R>(
  aggregate: { readonly decider: Decider.Decider<C, S, E, Err, R> },
  commands: Iterable<C>
): Effect.Effect<History<C, S, E, Err>, never, R> =>
  Effect.gen(function*() {
    const decider = aggregate.decider
    const steps: Array<Step<C, E, Err>> = []
    const events: Array<E> = []
    let state = decider.initialState
    for (const command of commands) {
      const exit = yield* Effect.exit(decider.decide(command, state))
      if (Exit.isSuccess(exit)) {
        steps.push({ _tag: "Accepted", command, events: exit.value })
        events.push(...exit.value)
        state = Decider.fold(decider, state, exit.value)
        continue
      }
      const error = Cause.failureOption(exit.cause)
      if (Option.isNone(error)) return yield* Effect.failCause(exit.cause as Cause.Cause<never>)
      steps.push({ _tag: "Rejected", command, error: error.value })
    }
    return { steps, events, state }
  })

// ---------------------------------------------------------------------------------------------
// laws
// ---------------------------------------------------------------------------------------------

/**
 * Folding the same decided events twice gives equal states, and leaves the initial state and
 * the first fold's result as they were: `evolve` is deterministic and never mutates a state it
 * is given. The second fold runs with `Date.now()` and `new Date()` a year and some hours,
 * minutes, seconds and milliseconds ahead, so an `evolve` that reads the clock fails every run.
 *
 * @since 0.1.0
 * @category laws
 */
export const replayIsDeterministic = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate.Aggregate<C, S, E, Err, R>,
  options: HistoryOptions<C>
): Effect.Effect<void, LawViolation, R> =>
  historyLaw("replayIsDeterministic", aggregate, options, (generated) => {
    assertDeterministicReplay(aggregate.decider, generated.events)
  })

/**
 * A snapshot taken after any prefix of a decided history — the state encoded with the
 * aggregate's snapshot schema, written as JSON text, parsed and decoded, as the snapshot store
 * does — followed by the rest of the events gives the state a full replay gives. Every prefix is
 * tried, not only multiples of `snapshots.every`.
 *
 * An aggregate without a snapshot policy has nothing to check: `check` skips this law, and
 * calling it directly dies with a message saying so.
 *
 * @since 0.1.0
 * @category laws
 */
export const snapshotRestoresState = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate.Aggregate<C, S, E, Err, R>,
  options: HistoryOptions<C>
): Effect.Effect<void, LawViolation, R> => {
  const policy = aggregate.snapshots
  if (policy === undefined) {
    return Effect.dieMessage(
      `Laws.snapshotRestoresState: the aggregate ${
        JSON.stringify(aggregate.category)
      } has no snapshot policy, so there is no snapshot schema to check (Laws.check skips this law for it)`
    )
  }
  return historyLaw("snapshotRestoresState", aggregate, options, (generated) => {
    assertSnapshotsRestore(aggregate.decider, policy.schema, generated.events)
  })
}

/**
 * Every event the decider produces, and random events of every type of the catalog
 * (`Arbitrary.make(aggregate.catalog.schema)` unless `options.events` is given), encodes with
 * the catalog (`EventCatalog.encode`), survives `JSON.stringify`/`JSON.parse`, decodes back
 * through `EventCatalog.decode` (in a `RecordedEvent` envelope) to an equal event, and
 * re-encodes to the same JSON text, type and schema version. A random event whose encoded
 * payload JSON does not carry exactly (`NaN`, `-0`, an `undefined` field) is left out: the
 * store refuses to append it.
 *
 * @since 0.1.0
 * @category laws
 */
export const eventsRoundTrip = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate.Aggregate<C, S, E, Err, R>,
  options: RoundTripOptions<C, E>
): Effect.Effect<void, LawViolation, R> =>
  Effect.zipRight(
    historyLaw("eventsRoundTrip", aggregate, options, (generated) => {
      assertEventsRoundTrip(aggregate, generated.events, "decided")
    }),
    runProperty(
      "eventsRoundTrip",
      aggregate.category,
      FastCheck.property(
        FastCheck.array(options.events ?? Arbitrary.make(aggregate.catalog.schema), {
          maxLength: options.maxEvents ?? 20,
          size: "max"
        }),
        (generated) => {
          const encode = EventCatalog.encode(aggregate.catalog)
          assertEventsRoundTrip(aggregate, generated.filter((event) => storable(encode(event))), "random")
        }
      ),
      options
    )
  )

/**
 * Random payloads of every older schema version of every event type (`Arbitrary.make` of the
 * version's own schema, encoded with it, without `_tag`, through JSON, stored with that schema
 * version) decode through the catalog's upcasters to events of the current schema, which
 * encode with the catalog, and which `evolve` folds (in any order) without throwing and
 * deterministically. It catches an upcaster that throws, builds an invalid event or one that
 * `evolve` cannot take. A payload JSON does not carry exactly is left out, as in
 * `eventsRoundTrip`. An aggregate whose event types all have one version has nothing to check.
 *
 * @since 0.1.0
 * @category laws
 */
export const oldVersionsUpcast = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate.Aggregate<C, S, E, Err, R>,
  options: UpcastOptions = {}
): Effect.Effect<void, LawViolation> => {
  const latest = new Map<string, number>()
  const all = EventCatalog.storedVersions(aggregate.catalog)
  for (const version of all) latest.set(version.type, Math.max(latest.get(version.type) ?? 0, version.schemaVersion))
  const old = all.filter((version) => version.schemaVersion < (latest.get(version.type) ?? 0))
  if (old.length === 0) return Effect.void
  const stored = FastCheck.oneof(
    ...old.map((version) =>
      Arbitrary.make(version.schema as Schema.Schema<unknown, unknown, never>).map((value) => ({ version, value }))
    )
  )
  const property = FastCheck.property(
    FastCheck.array(stored, { maxLength: options.maxEvents ?? 20, size: "max" }),
    (generated) => {
      const upcast = generated.flatMap(({ value, version }, index) => {
        const decoded = decodeOldVersion(aggregate, version, value, index)
        return decoded === undefined ? [] : [decoded]
      })
      assertDeterministicReplay(aggregate.decider, upcast)
    }
  )
  return runProperty("oldVersionsUpcast", aggregate.category, property, options)
}

/**
 * Over random events of the catalog's schema (`Arbitrary.make(aggregate.catalog.schema)` unless
 * `options.events` is given), in any order and including ones the decider would never produce,
 * `evolve` never throws and replaying them twice gives equal states (without mutating any).
 * Stored logs outlive the code that wrote them, so loading must not crash on an unexpected
 * sequence.
 *
 * @since 0.1.0
 * @category laws
 */
export const evolveIsTotal = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate.Aggregate<C, S, E, Err, R>,
  options: EventOptions<E> = {}
): Effect.Effect<void, LawViolation> => {
  const events = options.events ?? Arbitrary.make(aggregate.catalog.schema)
  const property = FastCheck.property(
    FastCheck.array(events, { maxLength: options.maxEvents ?? 20, size: "max" }),
    (generated) => {
      assertDeterministicReplay(aggregate.decider, generated)
    }
  )
  return runProperty("evolveIsTotal", aggregate.category, property, options)
}

/**
 * Checks every law that applies to the aggregate, one after the other, and returns the ones it
 * checked; `snapshotRestoresState` is skipped when the aggregate has no snapshot policy, and
 * `oldVersionsUpcast` when no event type has an older version. Fails with the first
 * `LawViolation`.
 *
 * @example
 * import { Arbitrary } from "effect"
 *
 * it.effect("bank account laws", () =>
 *   Laws.check(BankAccount, { commands: Arbitrary.make(BankAccountCommand), numRuns: 200 }))
 *
 * @since 0.1.0
 * @category laws
 */
export const check = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate.Aggregate<C, S, E, Err, R>,
  options: CheckOptions<C, E>
): Effect.Effect<ReadonlyArray<Law>, LawViolation, R> =>
  Effect.gen(function*() {
    const checked: Array<Law> = []
    yield* replayIsDeterministic(aggregate, options)
    checked.push("replayIsDeterministic")
    if (aggregate.snapshots !== undefined) {
      yield* snapshotRestoresState(aggregate, options)
      checked.push("snapshotRestoresState")
    }
    yield* eventsRoundTrip(aggregate, options)
    checked.push("eventsRoundTrip")
    yield* evolveIsTotal(aggregate, options)
    checked.push("evolveIsTotal")
    if (EventCatalog.storedVersions(aggregate.catalog).some((version) => version.schemaVersion > 1)) {
      yield* oldVersionsUpcast(aggregate, options)
      checked.push("oldVersionsUpcast")
    }
    return checked
  })

// ---------------------------------------------------------------------------------------------
// running properties
// ---------------------------------------------------------------------------------------------

/** A law over histories decided from random command lists; `assert` throws when it breaks. */
const historyLaw = <C, S, E extends { readonly _tag: string }, Err, R>(
  law: Law,
  aggregate: Aggregate.Aggregate<C, S, E, Err, R>,
  options: HistoryOptions<C>,
  assert: (generated: History<C, S, E, Err>) => void
): Effect.Effect<void, LawViolation, R> =>
  Effect.flatMap(Effect.runtime<R>(), (runtime) => {
    const runExit = Runtime.runPromiseExit(runtime)
    const property = FastCheck.asyncProperty(
      FastCheck.array(options.commands, { maxLength: options.maxCommands ?? 20, size: "max" }),
      async (commands) => {
        const exit = await runExit(history(aggregate, commands))
        if (Exit.isFailure(exit)) {
          throw broken(`decide or evolve crashed while building the history:\n${Cause.pretty(exit.cause)}`)
        }
        assert(exit.value)
      }
    )
    return runProperty(law, aggregate.category, property, options)
  })

const runProperty = <Ts extends Array<unknown>>(
  law: Law,
  category: string,
  property: FastCheck.IRawProperty<Ts>,
  options: RunOptions
): Effect.Effect<void, LawViolation> =>
  Effect.flatMap(
    Effect.promise(() => Promise.resolve(FastCheck.check(property, parameters(options)))),
    (details) =>
      details.failed
        ? Effect.fail(
          new LawViolation({
            law,
            category,
            counterexample: details.counterexample ?? [],
            seed: details.seed,
            path: details.counterexamplePath ?? undefined,
            report: FastCheck.defaultReportMessage(details) ??
              `fast-check reported a failure after ${details.numRuns} runs`
          })
        )
        : Effect.void
  )

const parameters = <Ts>(options: RunOptions): FastCheck.Parameters<Ts> => ({
  numRuns: options.numRuns ?? 100,
  ...(options.seed === undefined ? {} : { seed: options.seed }),
  ...(options.path === undefined ? {} : { path: options.path })
})

// ---------------------------------------------------------------------------------------------
// the laws' checks (each throws a message naming what differs)
// ---------------------------------------------------------------------------------------------

/**
 * States are equal under Effect's structural `Equal` (Option, HashMap, Data, -0 and 0) or
 * Node's `isDeepStrictEqual` (NaN, Map, Set, class instances).
 */
const sameState = (left: unknown, right: unknown): boolean =>
  Utils.structuralRegion(() => Equal.equals(left, right)) || isDeepStrictEqual(left, right)

interface Folder<S, E> {
  readonly initialState: S
  readonly evolve: (state: S, event: E) => S
}

const replayOrThrow = <S, E>(decider: Folder<S, E>, events: ReadonlyArray<E>, attempt: string): S => {
  let state = decider.initialState
  for (let i = 0; i < events.length; i++) {
    try {
      state = decider.evolve(state, events[i])
    } catch (error) {
      throw broken(
        `evolve threw on event #${i + 1} of ${events.length} (${attempt}) ${render(events[i])}\nin the state ${
          render(state)
        }:\n${error instanceof Error ? error.stack ?? error.message : render(error)}`
      )
    }
  }
  return state
}

/** A year and some hours, minutes, seconds and milliseconds: moves every field of a date. */
const clockShift = (366 * 24 * 60 * 60 + 3 * 60 * 60 + 7 * 60 + 11) * 1_000 + 13

/**
 * Runs `f` (synchronous, so nothing else runs meanwhile) with `Date.now()` and `new Date()`
 * shifted by {@link clockShift}: an `evolve` that reads the clock gives another state.
 */
const withClockMoved = <A>(f: () => A): A => {
  const RealDate = globalThis.Date
  const now = () => RealDate.now() + clockShift
  const Shifted = function(this: unknown, ...args: Array<unknown>) {
    if (new.target === undefined) return new RealDate(now()).toString()
    return Reflect.construct(RealDate, args.length === 0 ? [now()] : args, new.target)
  } as unknown as DateConstructor
  Object.setPrototypeOf(Shifted, RealDate)
  Object.defineProperty(Shifted, "prototype", { value: RealDate.prototype })
  Object.defineProperty(Shifted, "now", { value: now })
  globalThis.Date = Shifted
  try {
    return f()
  } finally {
    globalThis.Date = RealDate
  }
}

const assertDeterministicReplay = <S, E>(decider: Folder<S, E>, events: ReadonlyArray<E>): void => {
  const initialBefore = fingerprint(decider.initialState)
  const first = replayOrThrow(decider, events, "first replay")
  const firstBefore = fingerprint(first)
  const second = withClockMoved(() => replayOrThrow(decider, events, "second replay, with the clock moved"))
  if (!sameState(first, second)) {
    throw broken(
      `replaying the same ${
        count(events)
      } twice gave different states (the second time with the clock a year ahead: does evolve read it?)\nevents: ${
        render(events)
      }\nfirst:  ${render(first)}\nsecond: ${render(second)}`
    )
  }
  // Two replays that mutate the same shared object look equal; what they did to it does not.
  const initialAfter = fingerprint(decider.initialState)
  const firstAfter = fingerprint(first)
  if (initialAfter !== initialBefore || firstAfter !== firstBefore) {
    const [what, before, after] = initialAfter !== initialBefore
      ? ["the initial state", initialBefore, initialAfter]
      : ["the state the first replay returned", firstBefore, firstAfter]
    throw broken(
      `evolve mutates the states it is given: replaying ${count(events)} changed ${what}\nevents: ${
        render(events)
      }\nbefore: ${before}\nafter:  ${after}`
    )
  }
}

const assertSnapshotsRestore = <S, E>(
  decider: Folder<S, E>,
  schema: Schema.Schema<S, unknown, never>,
  events: ReadonlyArray<E>
): void => {
  const encode = Schema.encodeEither(schema)
  const decode = Schema.decodeUnknownEither(schema)
  const full = Decider.replay(decider, events)
  for (let version = 1; version <= events.length; version++) {
    const where = `the snapshot at version ${version} of ${events.length}`
    const state = Decider.replay(decider, events.slice(0, version))
    const encoded = encode(state)
    if (Either.isLeft(encoded)) {
      throw broken(
        `${where}: the state does not encode with the snapshot schema\nstate: ${render(state)}\n${encoded.left.message}`
      )
    }
    const text = jsonText(encoded.right, `${where}: the encoded state`)
    const decoded = decode(JSON.parse(text))
    if (Either.isLeft(decoded)) {
      throw broken(
        `${where}: the snapshot does not decode after JSON\nstate: ${
          render(state)
        }\nJSON: ${text}\n${decoded.left.message}`
      )
    }
    const restored = Decider.fold(decider, decoded.right, events.slice(version))
    if (!sameState(restored, full)) {
      throw broken(
        `${where}: loading through it gives another state than a full replay\nstate at the snapshot: ${
          render(state)
        }\nsnapshot JSON:         ${text}\nrestored from it:      ${render(decoded.right)}\nfull replay:           ${
          render(full)
        }\nthrough the snapshot:  ${render(restored)}\nevents: ${render(events)}`
      )
    }
  }
}

/** Whether an encoded event's payload reads back from JSON exactly as it is (no NaN, -0, undefined, Date…). */
const storable = (encoded: Either.Either<EventCatalog.EncodedEvent, unknown>): boolean => {
  if (Either.isLeft(encoded)) return true // the round trip reports it
  try {
    const text = JSON.stringify(encoded.right.data)
    return text !== undefined && isDeepStrictEqual(JSON.parse(text), encoded.right.data)
  } catch {
    return true
  }
}

/** A generated value of an old version, stored as that version and decoded with the catalog; `undefined` when JSON cannot carry it. */
const decodeOldVersion = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate.Aggregate<C, S, E, Err, R>,
  version: EventCatalog.StoredVersion,
  value: unknown,
  index: number
): E | undefined => {
  const where = `${version.type} v${version.schemaVersion} ${render(value)}`
  const encoded = Schema.encodeUnknownEither(version.schema as Schema.Schema<unknown, unknown, never>)(value)
  if (Either.isLeft(encoded)) throw broken(`${where} does not encode with its own schema:\n${encoded.left.message}`)
  const data = typeof encoded.right === "object" && encoded.right !== null && !Array.isArray(encoded.right)
    ? Object.fromEntries(Object.entries(encoded.right).filter(([key]) => key !== "_tag"))
    : encoded.right
  const text = JSON.stringify(data)
  if (text === undefined || !isDeepStrictEqual(JSON.parse(text), data)) return undefined
  const decoded = EventCatalog.decode(aggregate.catalog)({
    eventId: "00000000-0000-4000-8000-000000000000",
    streamId: StreamId.unsafeMake(`${aggregate.category}-laws`),
    streamVersion: index + 1,
    globalPosition: BigInt(index + 1),
    transactionId: BigInt(index + 1),
    type: version.type,
    schemaVersion: version.schemaVersion,
    data: JSON.parse(text),
    metadata: {},
    recordedAt: new Date(0)
  })
  if (Either.isLeft(decoded)) {
    throw broken(`${where}, stored as ${text}, does not decode through the upcasters:\n${decoded.left.message}`)
  }
  const event = decoded.right.data
  if (!Schema.is(aggregate.catalog.schema)(event)) {
    throw broken(`${where}, stored as ${text}, upcasts to ${render(event)}, which is not a valid current event`)
  }
  const again = EventCatalog.encode(aggregate.catalog)(event)
  if (Either.isLeft(again)) {
    throw broken(
      `${where}, stored as ${text}, upcasts to ${render(event)}, which does not encode:\n${again.left.message}`
    )
  }
  return event
}

const assertEventsRoundTrip = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate.Aggregate<C, S, E, Err, R>,
  events: ReadonlyArray<E>,
  kind: "decided" | "random"
): void => {
  const encode = EventCatalog.encode(aggregate.catalog)
  const decode = EventCatalog.decode(aggregate.catalog)
  const streamId = StreamId.unsafeMake(`${aggregate.category}-laws`)
  events.forEach((event, index) => {
    const where = `the ${kind} event #${index + 1} ${render(event)}`
    const encoded = encode(event)
    if (Either.isLeft(encoded)) throw broken(`${where} does not encode with the catalog:\n${encoded.left.message}`)
    const text = jsonText(encoded.right.data, `${where}, encoded,`)
    const recorded: RecordedEvent.RecordedEvent = {
      eventId: "00000000-0000-4000-8000-000000000000",
      streamId,
      streamVersion: index + 1,
      globalPosition: BigInt(index + 1),
      transactionId: BigInt(index + 1),
      type: encoded.right.type,
      schemaVersion: encoded.right.schemaVersion,
      data: JSON.parse(text),
      metadata: {},
      recordedAt: new Date(0)
    }
    const decoded = decode(recorded)
    if (Either.isLeft(decoded)) {
      throw broken(`${where} does not decode back from its stored form ${text}:\n${decoded.left.message}`)
    }
    if (!sameState(decoded.right.data, event)) {
      throw broken(`${where} decodes back from ${text} as another event: ${render(decoded.right.data)}`)
    }
    const again = encode(decoded.right.data)
    if (Either.isLeft(again)) throw broken(`${where} does not re-encode after decoding:\n${again.left.message}`)
    const textAgain = JSON.stringify(again.right.data)
    if (
      textAgain !== text || again.right.type !== encoded.right.type ||
      again.right.schemaVersion !== encoded.right.schemaVersion
    ) {
      throw broken(
        `${where} re-encodes differently after a round trip\nfirst:  ${encoded.right.type} v${encoded.right.schemaVersion} ${text}\nsecond: ${again.right.type} v${again.right.schemaVersion} ${textAgain}`
      )
    }
  })
}

/** A law's failure; its stack would only point into this module, so the report shows the message alone. */
const broken = (message: string): Error => {
  const error = new Error(message)
  error.stack = `Error: ${message}`
  return error
}

const count = (events: ReadonlyArray<unknown>): string => `${events.length} event${events.length === 1 ? "" : "s"}`

/** `JSON.stringify`, failing with a message when the value is not JSON (a bigint, a cycle, undefined). */
const jsonText = (value: unknown, what: string): string => {
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch (error) {
    throw broken(
      `${what} is not JSON: ${error instanceof Error ? error.message : String(error)}\nvalue: ${render(value)}`
    )
  }
  if (text === undefined) throw broken(`${what} is not JSON: ${render(value)}`)
  return text
}
