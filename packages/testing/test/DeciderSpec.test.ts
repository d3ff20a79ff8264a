import { assert, describe, expect, it } from "@effect/vitest"
import { Aggregate, Decider, EventCatalog } from "@facta/core"
import { DeciderSpec } from "@facta/testing"
import { Cause, Context, Data, Effect, Exit, Schema } from "effect"

// A door: opened, closed, locked with a code. Small enough to see every outcome at a glance.

const Opened = Schema.TaggedStruct("Opened", {})
const Closed = Schema.TaggedStruct("Closed", {})
const Locked = Schema.TaggedStruct("Locked", { code: Schema.String.pipe(Schema.length(4)) })
const DoorEvents = EventCatalog.make([Opened, Closed, Locked])
type DoorEvent = typeof DoorEvents.schema.Type

type DoorCommand =
  | { readonly _tag: "Open" }
  | { readonly _tag: "Close" }
  | { readonly _tag: "Lock"; readonly code: string }

type DoorState = { readonly _tag: "Shut"; readonly openings: number } | {
  readonly _tag: "Ajar"
  readonly openings: number
} | {
  readonly _tag: "Bolted"
  readonly openings: number
  readonly code: string
}

class DoorIsLocked extends Data.TaggedError("DoorIsLocked")<{ readonly code: string }> {}
class DoorIsOpen extends Data.TaggedError("DoorIsOpen")<{}> {}

const decide = (
  command: DoorCommand,
  state: DoorState
): Effect.Effect<ReadonlyArray<DoorEvent>, DoorIsLocked | DoorIsOpen> => {
  switch (command._tag) {
    case "Open":
      if (state._tag === "Bolted") return Effect.fail(new DoorIsLocked({ code: state.code }))
      return Effect.succeed(state._tag === "Ajar" ? [] : [{ _tag: "Opened" }])
    case "Close":
      return Effect.succeed(state._tag === "Ajar" ? [{ _tag: "Closed" }] : [])
    case "Lock":
      if (state._tag === "Ajar") return Effect.fail(new DoorIsOpen())
      return Effect.succeed([{ _tag: "Locked", code: command.code }])
  }
}

const evolve = (state: DoorState, event: DoorEvent): DoorState => {
  switch (event._tag) {
    case "Opened":
      return { _tag: "Ajar", openings: state.openings + 1 }
    case "Closed":
      return { _tag: "Shut", openings: state.openings }
    case "Locked":
      return { _tag: "Bolted", openings: state.openings, code: event.code }
  }
}

const initialState: DoorState = { _tag: "Shut", openings: 0 }
const Door = Decider.make({ initialState, decide, evolve })
const DoorAggregate = Aggregate.make({ category: "door", catalog: DoorEvents, decider: Door })

/** Runs a spec that must not hold and returns the assertion error it dies with. */
const failureOf = <R>(spec: Effect.Effect<void, never, R>) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(spec)
    if (Exit.isSuccess(exit)) return assert.fail("the spec held, but it should have failed")
    const defect = Cause.squash(exit.cause)
    expect(defect).toBeInstanceOf(Error)
    expect((defect as Error).name).toBe("AssertionError")
    return defect as Error & { readonly actual?: unknown; readonly expected?: unknown }
  })

describe("DeciderSpec", () => {
  const spec = DeciderSpec.for(Door)

  describe("specs that hold", () => {
    it.effect("then: the expected events, and optionally the state after them", () =>
      Effect.gen(function*() {
        yield* spec.when({ _tag: "Open" }).then([{ _tag: "Opened" }])
        yield* spec.given([{ _tag: "Opened" }, { _tag: "Closed" }]).when({ _tag: "Open" }).then([{ _tag: "Opened" }], {
          state: { _tag: "Ajar", openings: 2 }
        })
      }))

    it.effect("thenNothing: no events and no error", () =>
      spec.given([{ _tag: "Opened" }]).when({ _tag: "Open" }).thenNothing())

    it.effect("thenState: the state after the new events", () =>
      spec.given([{ _tag: "Opened" }, { _tag: "Closed" }]).when({ _tag: "Lock", code: "1234" }).thenState({
        _tag: "Bolted",
        openings: 1,
        code: "1234"
      }))

    it.effect("thenFails: by value, by tag, by predicate, or any domain error", () =>
      Effect.gen(function*() {
        const locked = spec.given([{ _tag: "Locked", code: "1234" }]).when({ _tag: "Open" })
        yield* locked.thenFails(new DoorIsLocked({ code: "1234" }))
        yield* locked.thenFails("DoorIsLocked")
        yield* locked.thenFails((error) => error._tag === "DoorIsLocked" && error.code === "1234")
        yield* locked.thenFails()
      }))

    it.effect("DeciderSpec.make and an aggregate work the same way", () =>
      Effect.gen(function*() {
        yield* DeciderSpec.make(Door).when({ _tag: "Open" }).then([{ _tag: "Opened" }])
        yield* DeciderSpec.for(DoorAggregate).when({ _tag: "Lock", code: "4321" }).then([{
          _tag: "Locked",
          code: "4321"
        }])
      }))

    it.effect("a decider that needs a service runs with it provided", () => {
      class Clock extends Context.Tag("test/Clock")<Clock, { readonly hour: number }>() {}
      const nightDoor = Decider.make({
        initialState,
        evolve,
        decide: (command: DoorCommand, state: DoorState) =>
          Effect.flatMap(
            Clock,
            (clock) => clock.hour < 6 ? Effect.fail(new DoorIsLocked({ code: "night" })) : decide(command, state)
          )
      })
      return Effect.gen(function*() {
        yield* DeciderSpec.for(nightDoor).when({ _tag: "Open" }).thenFails(new DoorIsLocked({ code: "night" })).pipe(
          Effect.provideService(Clock, { hour: 3 })
        )
        yield* DeciderSpec.for(nightDoor).when({ _tag: "Open" }).then([{ _tag: "Opened" }]).pipe(
          Effect.provideService(Clock, { hour: 9 })
        )
      })
    })
  })

  describe("specs that do not hold fail with a readable message", () => {
    it.effect("other events than expected: a diff of the events", () =>
      Effect.gen(function*() {
        const error = yield* failureOf(
          spec.given([{ _tag: "Opened" }, { _tag: "Closed" }]).when({ _tag: "Lock", code: "1234" }).then([
            { _tag: "Locked", code: "9999" }
          ])
        )
        expect(error.message).toContain("when { _tag: 'Lock', code: '1234' }")
        expect(error.message).toContain("the decided events differ from the expected ones")
        expect(error.actual).toEqual([{ _tag: "Locked", code: "1234" }])
        expect(error.expected).toEqual([{ _tag: "Locked", code: "9999" }])
      }))

    it.effect("events expected, but a domain error: names the error and its fields", () =>
      Effect.gen(function*() {
        const error = yield* failureOf(
          spec.given([{ _tag: "Locked", code: "1234" }]).when({ _tag: "Open" }).then([{ _tag: "Opened" }])
        )
        expect(error.message).toContain("expected the events [ { _tag: 'Opened' } ], but decide failed with")
        expect(error.message).toContain("{ _tag: 'DoorIsLocked', code: '1234' }")
      }))

    it.effect("an error expected, but success: says what was decided", () =>
      Effect.gen(function*() {
        const error = yield* failureOf(spec.when({ _tag: "Open" }).thenFails(new DoorIsOpen()))
        expect(error.message).toContain(
          "expected decide to fail with { _tag: 'DoorIsOpen' }, but it succeeded with the events [ { _tag: 'Opened' } ]"
        )
        const nothing = yield* failureOf(
          spec.given([{ _tag: "Opened" }]).when({ _tag: "Open" }).thenFails("DoorIsOpen")
        )
        expect(nothing.message).toContain(
          "expected decide to fail with a domain error tagged DoorIsOpen, but it succeeded with no events"
        )
      }))

    it.effect("another domain error than expected: a diff of the fields", () =>
      Effect.gen(function*() {
        const locked = spec.given([{ _tag: "Locked", code: "1234" }]).when({ _tag: "Open" })
        const byValue = yield* failureOf(locked.thenFails(new DoorIsLocked({ code: "0000" })))
        expect(byValue.message).toContain("decide failed with another domain error than expected")
        expect(byValue.actual).toEqual({ _tag: "DoorIsLocked", code: "1234" })
        expect(byValue.expected).toEqual({ _tag: "DoorIsLocked", code: "0000" })
        const byTag = yield* failureOf(locked.thenFails("DoorIsOpen"))
        expect(byTag.message).toContain(
          "expected a domain error tagged DoorIsOpen, but decide failed with { _tag: 'DoorIsLocked'"
        )
        const byPredicate = yield* failureOf(locked.thenFails((e) => e._tag === "DoorIsLocked" && e.code === "0000"))
        expect(byPredicate.message).toContain(
          "the domain error does not satisfy the expectation: { _tag: 'DoorIsLocked', code: '1234' }"
        )
      }))

    it.effect("another message or cause than expected: both compared, though hidden from key enumeration", () =>
      Effect.gen(function*() {
        class Refused extends Data.TaggedError("Refused")<{ readonly message: string; readonly cause?: unknown }> {}
        class Rejected
          extends Schema.TaggedError<Rejected>()("Rejected", { message: Schema.String, cause: Schema.Unknown })
        {}
        const refusing = (error: Refused | Rejected) =>
          DeciderSpec.for(Decider.make({ initialState, evolve, decide: () => Effect.fail(error) })).when({
            _tag: "Open"
          })
        const refused = refusing(new Refused({ message: "the door is jammed", cause: "rust" }))
        yield* refused.thenFails(new Refused({ message: "the door is jammed", cause: "rust" }))
        const message = yield* failureOf(
          refused.thenFails(new Refused({ message: "the door is stuck", cause: "rust" }))
        )
        expect(message.message).toContain("decide failed with another domain error than expected")
        expect(message.expected).toMatchObject({ message: "the door is stuck" })
        yield* failureOf(refused.thenFails(new Refused({ message: "the door is jammed", cause: "ice" })))
        yield* failureOf(refused.thenFails(new Refused({ message: "the door is jammed" })))
        const rejected = refusing(new Rejected({ message: "no", cause: { code: 1 } }))
        yield* rejected.thenFails(new Rejected({ message: "no", cause: { code: 1 } }))
        yield* failureOf(rejected.thenFails(new Rejected({ message: "yes", cause: { code: 1 } })))
        yield* failureOf(rejected.thenFails(new Rejected({ message: "no", cause: { code: 2 } })))
      }))

    it.effect("nothing expected, but events", () =>
      Effect.gen(function*() {
        const error = yield* failureOf(spec.when({ _tag: "Open" }).thenNothing())
        expect(error.message).toContain("expected no events, but decide returned 1")
      }))

    it.effect("another state than expected: a diff of the states", () =>
      Effect.gen(function*() {
        const wrong = yield* failureOf(
          spec.given([{ _tag: "Opened" }]).when({ _tag: "Close" }).thenState({ _tag: "Shut", openings: 2 })
        )
        expect(wrong.message).toContain("the state after the decided events differs from the expected one")
        expect(wrong.actual).toEqual({ _tag: "Shut", openings: 1 })
        const alongEvents = yield* failureOf(
          spec.given([{ _tag: "Opened" }]).when({ _tag: "Close" }).then([{ _tag: "Closed" }], {
            state: { _tag: "Ajar", openings: 1 }
          })
        )
        expect(alongEvents.message).toContain("the state after the events differs from the expected one")
      }))

    it.effect("with an aggregate, a decided event that does not encode fails the spec", () =>
      Effect.gen(function*() {
        const error = yield* failureOf(
          DeciderSpec.for(DoorAggregate).when({ _tag: "Lock", code: "12345" }).then([{ _tag: "Locked", code: "12345" }])
        )
        expect(error.message).toContain("decide returned an event the catalog cannot encode")
        expect(error.message).toContain("Locked")
        // The bare decider does not know the catalog, so the same spec holds there.
        yield* spec.when({ _tag: "Lock", code: "12345" }).then([{ _tag: "Locked", code: "12345" }])
      }))

    it.effect("a decide that throws is a defect, not a domain error", () =>
      Effect.gen(function*() {
        const throwing = Decider.make({
          initialState,
          evolve,
          decide: (_command: DoorCommand, _state: DoorState): ReadonlyArray<DoorEvent> => {
            throw new Error("boom")
          }
        })
        const exit = yield* Effect.exit(DeciderSpec.for(throwing).when({ _tag: "Open" }).thenFails())
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) expect(Cause.squash(exit.cause)).toEqual(new Error("boom"))
      }))
  })
})
