import { describe, expect } from "@effect/vitest"
import { EventStore, ExpectedVersion } from "@facta/core"
import { Deferred, Effect, Either, Fiber, Option, Ref } from "effect"
import type { Suite } from "./fixtures.js"
import {
  idsOf,
  newEvent,
  newEvents,
  range,
  readStream,
  seed,
  streamIn,
  uniqueCategory,
  uniqueStream,
  versionsOf
} from "./fixtures.js"

/**
 * Runs `tasks` on one fiber each, all held at a gate until every fiber has started, then
 * released together; returns their outcomes in order.
 */
const releasedTogether = <A, E>(tasks: ReadonlyArray<Effect.Effect<A, E, EventStore.EventStore>>) =>
  Effect.gen(function*() {
    const started = yield* Ref.make(0)
    const allStarted = yield* Deferred.make<void>()
    const gate = yield* Effect.makeLatch(false)
    const racing = yield* Effect.fork(Effect.forEach(
      tasks,
      (task) =>
        Ref.updateAndGet(started, (n) => n + 1).pipe(
          Effect.tap((n) => (n === tasks.length ? Deferred.succeed(allStarted, undefined) : Effect.void)),
          Effect.zipRight(gate.await),
          Effect.zipRight(Effect.either(task))
        ),
      { concurrency: "unbounded" }
    ))
    yield* Deferred.await(allStarted)
    yield* gate.open
    return yield* Fiber.join(racing)
  })

export const concurrencyCases = ({ settings, test }: Suite) =>
  describe("concurrent appends", () => {
    const { raceFibers: fibers, raceRounds: rounds } = settings

    test(`${fibers} writers at the same expected version, ${rounds} rounds: one wins each round, the others conflict`, () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        const winners: Array<string> = []
        for (let round = 1; round <= rounds; round++) {
          const expected = ExpectedVersion.fromLoadedVersion(round - 1)
          const contenders = range(1, fibers).map((fiber) => newEvent("Raced", { round, fiber }))
          const outcomes = yield* releasedTogether(
            contenders.map((event) => EventStore.append(streamId, [event], expected))
          )
          const won = outcomes.flatMap((outcome, index) => (Either.isRight(outcome) ? [index] : []))
          expect(won.length, `winners of round ${round}`).toBe(1)
          for (const outcome of outcomes) {
            if (Either.isRight(outcome)) {
              expect(outcome.right.nextExpectedVersion).toBe(round)
              expect(outcome.right.written).toBe(true)
            } else {
              const conflict = outcome.left
              expect(conflict._tag, `a loser of round ${round}`).toBe("ConcurrencyConflict")
              if (conflict._tag === "ConcurrencyConflict") {
                expect(conflict.streamId).toBe(streamId)
                expect(conflict.expected).toEqual(expected)
                expect(conflict.actual, `the version a loser of round ${round} saw`).toBe(round)
              }
            }
          }
          winners.push(contenders[won[0]].eventId)
        }
        const events = yield* readStream(streamId)
        expect(versionsOf(events)).toEqual(range(1, rounds))
        expect(idsOf(events)).toEqual(winners)
        expect(new Set(idsOf(events)).size).toBe(rounds)
      }))

    test("writers appending with ExpectedVersion.Any to one stream leave it dense, every event once, batches whole", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        const writers = 16
        const appendsPerWriter = 8
        const batchSize = 3
        const batches = yield* Effect.forEach(
          range(1, writers),
          () =>
            Effect.gen(function*() {
              const mine: Array<{ readonly ids: Array<string>; readonly lastVersion: number }> = []
              for (let append = 0; append < appendsPerWriter; append++) {
                const events = newEvents(batchSize)
                const result = yield* EventStore.append(streamId, events, ExpectedVersion.Any)
                mine.push({ ids: idsOf(events), lastVersion: result.nextExpectedVersion })
                yield* Effect.yieldNow()
              }
              return mine
            }),
          { concurrency: "unbounded" }
        )
        const total = writers * appendsPerWriter * batchSize
        const stored = idsOf(yield* readStream(streamId))
        expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.some(total))
        expect(stored.length).toBe(total)
        expect(new Set(stored).size).toBe(total)
        for (const mine of batches) {
          for (const { ids, lastVersion } of mine) {
            // each batch sits where its append said, contiguously
            expect(stored.slice(lastVersion - batchSize, lastVersion)).toEqual(ids)
          }
          // and one writer's appends keep their order
          const versions = mine.map(({ lastVersion }) => lastVersion)
          expect(versions).toEqual([...versions].sort((a, b) => a - b))
        }
      }))

    test("writers creating different streams at once all succeed", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const streamIds = range(1, 32).map(() => streamIn(category))
        const outcomes = yield* releasedTogether(
          streamIds.map((streamId) => EventStore.append(streamId, newEvents(2), ExpectedVersion.NoStream))
        )
        expect(outcomes.filter(Either.isLeft)).toEqual([])
        for (const streamId of streamIds) {
          expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.some(2))
        }
      }))

    test("the same append retried concurrently is written once; the repeats succeed with written: false", () =>
      Effect.gen(function*() {
        // Several rounds, on a new stream and on an existing one, so that a store which only
        // recognises repeats of committed appends fails reliably rather than now and then.
        for (let round = 0; round < 10; round++) {
          const streamId = uniqueStream()
          const existing = round % 2
          yield* seed(streamId, existing)
          const events = newEvents(3)
          const outcomes = yield* releasedTogether(
            range(1, 8).map(() => EventStore.append(streamId, events, ExpectedVersion.fromLoadedVersion(existing)))
          )
          const failures = outcomes.flatMap((outcome) => (Either.isLeft(outcome) ? [outcome.left.message] : []))
          expect(failures, "repeats that failed").toEqual([])
          const results = outcomes.flatMap((outcome) => (Either.isRight(outcome) ? [outcome.right] : []))
          expect(results.filter((result) => result.written).length).toBe(1)
          for (const result of results) {
            expect(result.nextExpectedVersion).toBe(existing + 3)
            expect(result.position).toEqual(results[0].position)
          }
          expect(idsOf(yield* readStream(streamId, { from: existing + 1 }))).toEqual(idsOf(events))
        }
      }))
  })
