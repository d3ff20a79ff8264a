/**
 * Given/when/then specifications for deciders, in the language of the domain:
 *
 * ```ts
 * const spec = DeciderSpec.for(BankAccount)
 *
 * it.effect("rejects an overdraft", () =>
 *   spec.given([opened, deposited]).when(withdraw500).thenFails(new InsufficientFunds({ ... })))
 * ```
 *
 * Every `then…` returns an `Effect` to run inside `it.effect`. A spec that does not hold dies
 * with a vitest `AssertionError` saying what was expected and what happened (with a diff where
 * one helps), so the test fails with that message.
 *
 * @since 0.1.0
 */
import type { Aggregate } from "@facta/core"
import { Decider, EventCatalog } from "@facta/core"
import { Cause, Effect, Either, Exit, Option } from "effect"
import { assert, expect } from "vitest"
import { plainError, render, tagOf } from "./internal/describe.js"

/**
 * The `_tag`s of a union of tagged domain errors.
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorTag<Err> = Err extends { readonly _tag: infer Tag extends string } ? Tag : never

/**
 * What `thenFails` accepts: the expected domain error (compared field by field, `message` and
 * `cause` included), its `_tag`, or a predicate on it.
 *
 * @since 0.1.0
 * @category models
 */
export type ExpectedFailure<Err> = Err | ErrorTag<Err> | ((error: Err) => boolean)

/**
 * Options of `then`: the state expected after the new events, when it matters.
 *
 * @since 0.1.0
 * @category models
 */
export interface ThenOptions<S> {
  /** The state expected after the new events, compared deeply; not checked when absent. */
  readonly state?: S
}

/**
 * A command decided on a history; each method checks one expectation and returns an `Effect`
 * that dies with an `AssertionError` when it does not hold.
 *
 * @since 0.1.0
 * @category models
 */
export interface When<S, E, Err, R> {
  /** Expects exactly these new events (and, with `options.state`, that state after them). */
  readonly then: (expected: ReadonlyArray<E>, options?: ThenOptions<S>) => Effect.Effect<void, never, R>
  /** Expects no new events and no domain error: the command changes nothing. */
  readonly thenNothing: () => Effect.Effect<void, never, R>
  /** Expects the state after the new events, whatever the events are. */
  readonly thenState: (expected: S) => Effect.Effect<void, never, R>
  /**
   * Expects a domain error: any (no argument), one with this `_tag`, one satisfying a
   * predicate, or one equal field by field to the given error.
   */
  readonly thenFails: (expected?: ExpectedFailure<Err>) => Effect.Effect<void, never, R>
}

/**
 * A history of events the command will be decided on.
 *
 * @since 0.1.0
 * @category models
 */
export interface Given<C, S, E, Err, R> {
  /** Decides `command` on the state the history folds to. */
  readonly when: (command: C) => When<S, E, Err, R>
}

/**
 * A specification of one decider.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeciderSpec<C, S, E, Err, R> extends Given<C, S, E, Err, R> {
  /** Starts from the state these past events fold to; `when` alone starts from no events. */
  readonly given: (events: ReadonlyArray<E>) => Given<C, S, E, Err, R>
}

interface Subject<C, S, E, Err, R> {
  readonly decider: Decider.Decider<C, S, E, Err, R>
  /** Checks that decided events can be stored; `undefined` for a bare decider. */
  readonly encodes: ((event: E) => Either.Either<unknown, EventCatalog.EventEncodeError>) | undefined
}

/**
 * Starts a specification of a decider, or of an aggregate's decider. With an aggregate, the
 * events a command decides must also encode through its catalog (as `CommandHandler.handle`
 * requires before appending); an event that does not encode fails `then`, `thenNothing` and
 * `thenState`. Exported as `DeciderSpec.for`.
 *
 * @example
 * const spec = DeciderSpec.for(BankAccount)
 * it.effect("deposits", () => spec.given([opened]).when(deposit).then([deposited]))
 *
 * @since 0.1.0
 * @category constructors
 */
function forSubject<C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate.Aggregate<C, S, E, Err, R>
): DeciderSpec<C, S, E, Err, R>
function forSubject<C, S, E, Err, R>(decider: Decider.Decider<C, S, E, Err, R>): DeciderSpec<C, S, E, Err, R>
function forSubject<C, S, E, Err, R>(
  subject: Decider.Decider<C, S, E, Err, R> | Aggregate.Aggregate<C, S, E & { readonly _tag: string }, Err, R>
): DeciderSpec<C, S, E, Err, R> {
  const resolved: Subject<C, S, E, Err, R> = "catalog" in subject && "decider" in subject
    ? {
      decider: subject.decider as Decider.Decider<C, S, E, Err, R>,
      encodes: EventCatalog.encode(subject.catalog) as Subject<C, S, E, Err, R>["encodes"]
    }
    : { decider: subject as Decider.Decider<C, S, E, Err, R>, encodes: undefined }
  const given = (history: ReadonlyArray<E>): Given<C, S, E, Err, R> => ({
    when: (command) => makeWhen(resolved, history, command)
  })
  return { given, when: given([]).when }
}

export { forSubject as for }

/**
 * The same as `DeciderSpec.for`, under Effect's constructor name.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = forSubject

// ---------------------------------------------------------------------------------------------
// checks
// ---------------------------------------------------------------------------------------------

type Outcome<S, E, Err> =
  | { readonly _tag: "Decided"; readonly events: ReadonlyArray<E>; readonly state: S }
  | { readonly _tag: "Rejected"; readonly error: Err }

const makeWhen = <C, S, E, Err, R>(
  subject: Subject<C, S, E, Err, R>,
  history: ReadonlyArray<E>,
  command: C
): When<S, E, Err, R> => {
  const context = (): string => `given ${history.length === 0 ? "no events" : render(history)}\nwhen ${render(command)}`
  const outcome: Effect.Effect<Outcome<S, E, Err>, never, R> = Effect.suspend(() => {
    const before = Decider.replay(subject.decider, history)
    return subject.decider.decide(command, before).pipe(
      Effect.exit,
      Effect.flatMap((exit): Effect.Effect<Outcome<S, E, Err>> => {
        if (Exit.isSuccess(exit)) {
          return Effect.succeed({
            _tag: "Decided",
            events: exit.value,
            state: Decider.fold(subject.decider, before, exit.value)
          })
        }
        return Option.match(Cause.failureOption(exit.cause), {
          onNone: () => Effect.failCause(exit.cause as Cause.Cause<never>),
          onSome: (error) => Effect.succeed({ _tag: "Rejected", error })
        })
      })
    )
  })

  /** Runs the command and hands the events and state on, or dies when it was rejected. */
  const decided = (
    expectation: string
  ): Effect.Effect<{ readonly events: ReadonlyArray<E>; readonly state: S }, never, R> =>
    Effect.flatMap(outcome, (result) =>
      Effect.sync(() => {
        if (result._tag === "Rejected") {
          assert.fail(
            `${context()}\nexpected ${expectation}, but decide failed with ${render(plainError(result.error))}\n(${
              errorMessage(result.error)
            })`
          )
        }
        if (subject.encodes !== undefined) {
          for (const event of result.events) {
            const encoded: Either.Either<unknown, EventCatalog.EventEncodeError> = subject.encodes(event)
            if (Either.isLeft(encoded)) {
              assert.fail(
                `${context()}\ndecide returned an event the catalog cannot encode (appending it would fail):\n${
                  render(event)
                }\n${encoded.left.message}`
              )
            }
          }
        }
        return result
      }))

  const then = (expected: ReadonlyArray<E>, options?: ThenOptions<S>): Effect.Effect<void, never, R> =>
    Effect.flatMap(decided(`the events ${render(expected)}`), (result) =>
      Effect.sync(() => {
        expect(result.events, `${context()}\nthe decided events differ from the expected ones`).toEqual(expected)
        if (options !== undefined && "state" in options) {
          expect(result.state, `${context()}\nthe state after the events differs from the expected one`).toEqual(
            options.state
          )
        }
      }))

  const thenNothing = (): Effect.Effect<void, never, R> =>
    Effect.flatMap(decided("no events"), (result) =>
      Effect.sync(() => {
        expect(result.events, `${context()}\nexpected no events, but decide returned ${result.events.length}`).toEqual(
          []
        )
      }))

  const thenState = (expected: S): Effect.Effect<void, never, R> =>
    Effect.flatMap(decided(`the state ${render(expected)}`), (result) =>
      Effect.sync(() => {
        expect(result.state, `${context()}\nthe state after the decided events differs from the expected one`).toEqual(
          expected
        )
      }))

  const thenFails = (expected?: ExpectedFailure<Err>): Effect.Effect<void, never, R> =>
    Effect.flatMap(outcome, (result) =>
      Effect.sync(() => {
        const wanted = describeExpectedFailure(expected)
        if (result._tag === "Decided") {
          assert.fail(
            `${context()}\nexpected decide to fail with ${wanted}, but it succeeded with ${
              result.events.length === 0 ? "no events" : `the events ${render(result.events)}`
            }`
          )
        }
        const error = result.error
        if (expected === undefined) return
        if (typeof expected === "string") {
          expect(
            tagOf(error),
            `${context()}\nexpected a domain error tagged ${expected}, but decide failed with ${
              render(plainError(error))
            }`
          )
            .toBe(expected)
        } else if (typeof expected === "function") {
          if (!(expected as (error: Err) => boolean)(error)) {
            assert.fail(`${context()}\nthe domain error does not satisfy the expectation: ${render(plainError(error))}`)
          }
        } else {
          expect(
            comparableError(error, expected),
            `${context()}\ndecide failed with another domain error than expected`
          )
            .toEqual(comparableError(expected, error))
        }
      }))

  return { then, thenNothing, thenState, thenFails }
}

const describeExpectedFailure = (expected: unknown): string =>
  expected === undefined
    ? "a domain error"
    : typeof expected === "string"
    ? `a domain error tagged ${expected}`
    : typeof expected === "function"
    ? "a domain error satisfying the predicate"
    : render(plainError(expected))

/**
 * A domain error's tag and fields, plus its `message` and `cause` when either error has one:
 * Effect's error classes hide those two from key enumeration, so `plainError` alone misses them.
 */
const comparableError = (error: unknown, other: unknown): unknown => {
  const plain = plainError(error)
  if (typeof plain !== "object" || plain === null || typeof error !== "object" || error === null) return plain
  const hidden = (value: unknown, key: "message" | "cause"): unknown =>
    typeof value === "object" && value !== null && key in value ? (value as Record<string, unknown>)[key] : undefined
  const fields: Record<string, unknown> = { ...plain }
  const message = hidden(error, "message")
  if ((message !== undefined && message !== "") || (hidden(other, "message") ?? "") !== "") fields.message = message
  if (hidden(error, "cause") !== undefined || hidden(other, "cause") !== undefined) {
    fields.cause = hidden(error, "cause")
  }
  return fields
}

const errorMessage = (error: unknown): string => error instanceof Error ? error.message : String(error)
