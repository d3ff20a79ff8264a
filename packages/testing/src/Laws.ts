/**
 * Property laws every aggregate should obey, checked with fast-check over histories that its
 * own decider produces from random commands:
 *
 * - `replayIsDeterministic`: folding the same events twice gives equal states;
 * - `snapshotRestoresState`: a snapshot taken after any prefix of the history (encoded with the
 *   aggregate's snapshot schema, through JSON text, decoded), plus the rest of the events,
 *   gives the state a full replay gives;
 * - `eventsRoundTrip`: every decided event encodes with the catalog, survives JSON, decodes
 *   back to an equal event and re-encodes to the same JSON;
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
export type Law = "replayIsDeterministic" | "snapshotRestoresState" | "eventsRoundTrip" | "evolveIsTotal"

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
 * is given.
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
 * Every event the decider produces encodes with the catalog (`EventCatalog.encode`), survives
 * `JSON.stringify`/`JSON.parse`, decodes back through `EventCatalog.decode` (in a
 * `RecordedEvent` envelope) to an equal event, and re-encodes to the same JSON text, type and
 * schema version.
 *
 * @since 0.1.0
 * @category laws
 */
export const eventsRoundTrip = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate.Aggregate<C, S, E, Err, R>,
  options: HistoryOptions<C>
): Effect.Effect<void, LawViolation, R> =>
  historyLaw("eventsRoundTrip", aggregate, options, (generated) => {
    assertEventsRoundTrip(aggregate, generated.events)
  })

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
 * checked; `snapshotRestoresState` is skipped when the aggregate has no snapshot policy. Fails
 * with the first `LawViolation`.
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
            report: FastCheck.defaultReportMessage(details) ?? `fast-check reported a failure after ${details.numRuns} runs`
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

const assertDeterministicReplay = <S, E>(decider: Folder<S, E>, events: ReadonlyArray<E>): void => {
  const initialBefore = fingerprint(decider.initialState)
  const first = replayOrThrow(decider, events, "first replay")
  const firstBefore = fingerprint(first)
  const second = replayOrThrow(decider, events, "second replay")
  if (!sameState(first, second)) {
    throw broken(
      `replaying the same ${count(events)} twice gave different states\nevents: ${render(events)}\nfirst:  ${
        render(first)
      }\nsecond: ${render(second)}`
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
      throw broken(`${where}: the state does not encode with the snapshot schema\nstate: ${render(state)}\n${encoded.left.message}`)
    }
    const text = jsonText(encoded.right, `${where}: the encoded state`)
    const decoded = decode(JSON.parse(text))
    if (Either.isLeft(decoded)) {
      throw broken(
        `${where}: the snapshot does not decode after JSON\nstate: ${render(state)}\nJSON: ${text}\n${decoded.left.message}`
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

const assertEventsRoundTrip = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate.Aggregate<C, S, E, Err, R>,
  events: ReadonlyArray<E>
): void => {
  const encode = EventCatalog.encode(aggregate.catalog)
  const decode = EventCatalog.decode(aggregate.catalog)
  const streamId = StreamId.unsafeMake(`${aggregate.category}-laws`)
  events.forEach((event, index) => {
    const where = `the decided event #${index + 1} ${render(event)}`
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
    throw broken(`${what} is not JSON: ${error instanceof Error ? error.message : String(error)}\nvalue: ${render(value)}`)
  }
  if (text === undefined) throw broken(`${what} is not JSON: ${render(value)}`)
  return text
}
