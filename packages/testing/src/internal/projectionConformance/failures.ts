import { describe, expect } from "@effect/vitest"
import { Position, Projection } from "@facta/core"
import { Effect, Option } from "effect"
import type { CaseRegistrar } from "./cases.js"

export const failureCases = <R>(test: CaseRegistrar<R>) =>
  describe("failure policies", () => {
    test("stop: the projection fails with ProjectionFailed, its checkpoint just before the event", (f) =>
      Effect.gen(function*() {
        yield* f.append(5)
        let broken = true
        const runner = yield* f.runner([
          f.projection({ batchSize: 10, failWhen: (event) => broken && event.data.n === 3 })
        ])
        const failure = yield* Effect.flip(runner.waitForCatchUp(f.name))
        const events = yield* f.events
        expect(failure).toBeInstanceOf(Projection.ProjectionFailed)
        expect(failure).toMatchObject({
          projection: f.name,
          eventId: events[2].eventId,
          streamId: events[2].streamId,
          streamVersion: 3,
          globalPosition: events[2].globalPosition,
          type: "Counted",
          cause: { _tag: "HandlerBoom", n: 3 }
        })
        expect((yield* f.rows).map((row) => row.n)).toEqual([1, 2])
        expect(yield* f.checkpoint).toEqual(Option.some(Position.of(events[1])))
        const status = yield* runner.status(f.name)
        expect(status).toMatchObject({ state: "failed", lag: 3 })
        expect(Option.getOrThrow(status.lastError)).toContain("HandlerBoom")
        // Fixed, and started again: it goes on from the failed event.
        broken = false
        yield* runner.start(f.name)
        yield* runner.waitForCatchUp(f.name)
        expect((yield* f.rows).map((row) => row.n)).toEqual([1, 2, 3, 4, 5])
      }))

    test("park: the event goes to the dead-letter list and the projection goes on; a replay after the fix handles it", (f) =>
      Effect.gen(function*() {
        yield* f.append(5)
        let broken = true
        const runner = yield* f.runner([
          f.projection({ batchSize: 10, onFailure: "park", failWhen: (event) => broken && event.data.n === 3 })
        ])
        yield* runner.waitForCatchUp(f.name)
        expect((yield* f.rows).map((row) => row.n)).toEqual([1, 2, 4, 5])
        const events = yield* f.events
        const parked = yield* runner.parked(f.name)
        expect(parked.map((entry) => entry.event.eventId)).toEqual([events[2].eventId])
        expect(parked[0].reason).toContain("HandlerBoom")
        expect(parked[0].event.data).toEqual({ n: 3, label: "" })
        expect(yield* runner.status(f.name)).toMatchObject({ state: "live", parked: 1, handled: 4, lag: 0 })
        // Still broken: the replay fails and the event stays parked.
        expect(yield* runner.replayParked(f.name)).toBe(0)
        expect((yield* runner.parked(f.name)).length).toBe(1)
        broken = false
        expect(yield* runner.replayParked(f.name)).toBe(1)
        expect(yield* runner.parked(f.name)).toEqual([])
        expect((yield* f.rows).map((row) => row.n).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5])
      }))

    test("a handler that fails and then succeeds within its retries handles the event once, nothing parked", (f) =>
      Effect.gen(function*() {
        yield* f.append(4)
        let failures = 0
        const runner = yield* f.runner([
          f.projection({ onFailure: "park", failWhen: (event) => event.data.n === 2 && failures++ < 2 })
        ])
        yield* runner.waitForCatchUp(f.name)
        expect((yield* f.rows).map((row) => row.n)).toEqual([1, 2, 3, 4])
        expect(yield* runner.parked(f.name)).toEqual([])
        const status = yield* runner.status(f.name)
        expect(status.parked).toBe(0)
        expect(Option.getOrThrow(status.lastError)).toContain("HandlerBoom")
      }))

    test("an event that no longer decodes follows the policy, and the stored event is untouched", (f) =>
      Effect.gen(function*() {
        yield* f.append(1)
        yield* f.appendRaw(f.stream(), [{ type: "Counted", schemaVersion: 2, data: { n: "three", label: "" } }])
        yield* f.append(1)
        const runner = yield* f.runner([f.projection({ onFailure: "park" })])
        yield* runner.waitForCatchUp(f.name)
        expect((yield* f.rows).map((row) => row.n)).toEqual([1, 2])
        const parked = yield* runner.parked(f.name)
        expect(parked).toHaveLength(1)
        expect(parked[0].reason).toContain("EventDecodeError")
        expect(parked[0].event.data).toEqual({ n: "three", label: "" })
        const events = yield* f.events
        expect(events[1].data).toEqual({ n: "three", label: "" })
      }))

    test("an undecodable event stops a projection whose policy is stop, with the decode error as cause", (f) =>
      Effect.gen(function*() {
        yield* f.appendRaw(f.stream(), [{ type: "Counted", schemaVersion: 7, data: { n: 1 } }])
        const runner = yield* f.runner([f.projection()])
        const failure = yield* Effect.flip(runner.waitForCatchUp(f.name))
        expect(failure).toMatchObject({ _tag: "ProjectionFailed", cause: { _tag: "EventDecodeError" } })
        expect(yield* f.checkpoint).toEqual(Option.none())
      }))

    test("an event type the catalog does not know, in a category the projection reads whole, follows the policy", (f) =>
      Effect.gen(function*() {
        yield* f.append(1)
        yield* f.appendRaw(f.stream(), [{ type: "Mystery", schemaVersion: 1, data: {} }])
        yield* f.append(1)
        const runner = yield* f.runner([f.projection({ everyType: true, onFailure: "park" })])
        yield* runner.waitForCatchUp(f.name)
        expect((yield* f.rows).map((row) => row.n)).toEqual([1, 2])
        const parked = yield* runner.parked(f.name)
        expect(parked.map((entry) => entry.event.type)).toEqual(["Mystery"])
        expect(parked[0].reason).toContain("UnknownEventType")
      }))

    test("a batch that fails part-way is handled again event by event: every other event exactly once", (f) =>
      Effect.gen(function*() {
        yield* f.append(8)
        const runner = yield* f.runner([
          f.projection({ batchSize: 8, onFailure: "park", failWhen: (event) => event.data.n === 5 })
        ])
        yield* runner.waitForCatchUp(f.name)
        const rows = yield* f.rows
        expect(rows.map((row) => row.n).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 6, 7, 8])
        expect(new Set(rows.map((row) => row.eventId)).size).toBe(rows.length)
      }))

    test("a rebuild whose reset fails leaves the read model and checkpoint as they were", (f) =>
      Effect.gen(function*() {
        yield* f.append(3)
        const base = f.projection()
        const runner = yield* f.runner([{ ...base, reset: Effect.fail("no reset today") }])
        yield* runner.waitForCatchUp(f.name)
        const before = yield* f.checkpoint
        const error = yield* Effect.flip(runner.rebuild(f.name))
        expect(error).toMatchObject({ _tag: "ResetFailed", projection: f.name, cause: "no reset today" })
        expect(yield* f.checkpoint).toEqual(before)
        expect((yield* f.rows).length).toBe(3)
        yield* f.append(1)
        yield* runner.waitForCatchUp(f.name)
        expect((yield* f.rows).length).toBe(4)
      }))
  })
