/**
 * The projection runner conformance suite: the same cases against any set of stores (the
 * in-memory layers, Postgres, …) — catch-up then live, resume from checkpoints, failure
 * policies, dead letters, rebuilds, status, read-your-writes and single-instance leases.
 *
 * A store brings a {@link ReadModel}: where the suite's projections write their rows. On SQL
 * stores make it a table, so a batch's rows and its checkpoint commit together.
 *
 * @since 0.1.0
 */
import { describe, expect, layer } from "@effect/vitest"
import type { CheckpointStore, EventStore, ProjectionStore, RecordedEvent } from "@facta/core"
import { Position, ProjectionRunner } from "@facta/core"
import type { Layer } from "effect"
import { Duration, Effect, Exit, Logger, LogLevel, Option, Ref, Scope } from "effect"
import type { CaseRegistrar } from "./internal/projectionConformance/cases.js"
import { clockSkewCases } from "./internal/projectionConformance/clocks.js"
import { failureCases } from "./internal/projectionConformance/failures.js"
import type { Counted, ReadModel, SuiteSettings } from "./internal/projectionConformance/fixtures.js"
import { makeFixture } from "./internal/projectionConformance/fixtures.js"
import {
  leaseRenewalCases,
  parkedOrderCases,
  parkingCases,
  rebuildParkedCases
} from "./internal/projectionConformance/integrity.js"
import { leaseCases } from "./internal/projectionConformance/leases.js"

/**
 * A row of the suite's read model: one per handled event.
 *
 * @since 0.1.0
 * @category models
 */
export type { Row } from "./internal/projectionConformance/fixtures.js"

/**
 * Where the suite's projections keep their rows, one set per projection name.
 *
 * @since 0.1.0
 * @category models
 */
export type { ReadModel } from "./internal/projectionConformance/fixtures.js"

/**
 * Suite options.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Vitest's timeout for each case, in milliseconds (default 30,000). */
  readonly caseTimeout?: number
  /** How long a case waits for the runner before it fails (default 10 s). */
  readonly waitTimeout?: Duration.DurationInput
}

/**
 * Registers the suite under `name` against `stores`, which must provide the event store, the
 * checkpoint store, the projection store and what `readModel` needs.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = <R, E>(
  name: string,
  stores: Layer.Layer<
    EventStore.EventStore | CheckpointStore.CheckpointStore | ProjectionStore.ProjectionStore | R,
    E
  >,
  readModel: ReadModel<R>,
  options: Options = {}
): void => {
  const settings: SuiteSettings = {
    waitTimeout: Duration.decode(options.waitTimeout ?? "10 seconds")
  }
  const caseTimeout = options.caseTimeout ?? 30_000
  layer(stores, { excludeTestServices: true })(`ProjectionRunner conformance: ${name}`, (it) => {
    const test: CaseRegistrar<R> = (caseName, body) =>
      it.scoped(
        caseName,
        // The runner logs the failures the cases provoke on purpose; keep the test output readable.
        () => Effect.flatMap(makeFixture(readModel, settings), body).pipe(Logger.withMinimumLogLevel(LogLevel.None)),
        caseTimeout
      )

    describe("catch-up and live", () => {
      test("catches up on events appended before it starts, then follows live appends, each exactly once", (f) =>
        Effect.gen(function*() {
          yield* f.append(3)
          yield* f.append(2)
          const runner = yield* f.runner([f.projection()])
          yield* runner.waitForCatchUp(f.name)
          expect((yield* f.rows).map((row) => row.n)).toEqual([1, 2, 3, 4, 5])
          yield* f.append(4)
          yield* f.waitUntil(() => Effect.map(f.rows, (rows) => rows.length === 9))
          expect((yield* f.rows).map((row) => row.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
          const status = yield* runner.status(f.name)
          expect(status).toMatchObject({ projection: f.name, state: "live", lag: 0, handled: 9, parked: 0 })
        }))

      test("reads in batches no larger than the projection's batch size, and checkpoints after each", (f) =>
        Effect.gen(function*() {
          yield* f.append(10)
          const sizes: Array<number> = []
          const runner = yield* f.runner([
            f.projection({ batchSize: 4, onBatch: (events) => Effect.sync(() => void sizes.push(events.length)) })
          ])
          yield* runner.waitForCatchUp(f.name)
          expect(sizes.every((size) => size <= 4)).toBe(true)
          expect(sizes.reduce((a, b) => a + b, 0)).toBe(10)
          const events = yield* f.events
          expect(yield* f.checkpoint).toEqual(Option.some(Position.of(events[events.length - 1])))
        }))

      test("resumes from its checkpoint after a restart without handling anything twice", (f) =>
        Effect.gen(function*() {
          yield* f.append(5)
          yield* Effect.scoped(Effect.flatMap(f.runner([f.projection()]), (runner) => runner.waitForCatchUp(f.name)))
          yield* f.append(3)
          const runner = yield* f.runner([f.projection()])
          yield* runner.waitForCatchUp(f.name)
          expect((yield* f.rows).map((row) => row.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
          expect((yield* runner.status(f.name)).handled).toBe(3)
        }))

      test("hands the handler decoded, upcast events of the types it asked for, renamed types included", (f) =>
        Effect.gen(function*() {
          const streamId = f.stream()
          yield* f.appendRaw(streamId, [
            { type: "Counted", schemaVersion: 1, data: { n: 1 } },
            { type: "Ignored", schemaVersion: 1, data: { note: "not for this projection" } },
            { type: "Tallied", schemaVersion: 1, data: { n: 2 } }
          ])
          const seen: Array<RecordedEvent.RecordedEvent<Counted>> = []
          const runner = yield* f.runner([
            f.projection({ onEvent: (event) => Effect.sync(() => void seen.push(event)) })
          ])
          yield* runner.waitForCatchUp(f.name)
          expect(seen.map((event) => [event.type, event.data])).toEqual([
            ["Counted", { _tag: "Counted", n: 1, label: "" }],
            ["Tallied", { _tag: "Counted", n: 2, label: "" }]
          ])
        }))

      test("waitForCatchUp returns at once when nothing matches, and sees writes committed before the call", (f) =>
        Effect.gen(function*() {
          const runner = yield* f.runner([f.projection()])
          yield* runner.waitForCatchUp(f.name)
          expect(yield* f.rows).toEqual([])
          for (let round = 1; round <= 5; round++) {
            yield* f.append(1)
            yield* runner.waitForCatchUp(f.name)
            expect((yield* f.rows).length).toBe(round)
          }
        }))

      test("status reports the lag of a projection that is behind", (f) =>
        Effect.gen(function*() {
          yield* f.append(6)
          const runner = yield* f.runner([f.projection()], { autoStart: false })
          const status = yield* runner.status(f.name)
          expect(status).toMatchObject({ state: "stopped", lag: 6, checkpoint: Option.none() })
          yield* runner.start(f.name)
          yield* runner.waitForCatchUp(f.name)
          expect(yield* runner.status(f.name)).toMatchObject({ lag: 0, handled: 6 })
          const unknown = yield* Effect.flip(runner.status("no-such-projection"))
          expect(unknown).toBeInstanceOf(ProjectionRunner.UnknownProjection)
        }))

      test("closing the runner's scope lets the batch in flight commit, then stops", (f) =>
        Effect.gen(function*() {
          yield* f.append(6)
          const started = yield* Ref.make(false)
          const scope = yield* Scope.make()
          yield* Scope.extend(
            f.runner([
              f.projection({
                batchSize: 6,
                onBatch: () => Effect.zipRight(Ref.set(started, true), Effect.sleep(Duration.millis(300)))
              })
            ]),
            scope
          )
          yield* f.waitUntil(() => Ref.get(started))
          yield* Scope.close(scope, Exit.void)
          expect((yield* f.rows).length).toBe(6)
          const events = yield* f.events
          expect(yield* f.checkpoint).toEqual(Option.some(Position.of(events[5])))
        }))
    })

    describe("rebuild", () => {
      test("resets and replays from the start while appends go on; the rebuilt rows equal the live ones", (f) =>
        Effect.gen(function*() {
          yield* f.append(20)
          const runner = yield* f.runner([f.projection({ batchSize: 7 })])
          yield* runner.waitForCatchUp(f.name)
          const live = yield* f.rows
          const appending = yield* Effect.fork(
            Effect.forEach([1, 2, 3, 4, 5], () => Effect.zipRight(f.append(2), Effect.sleep(Duration.millis(5))))
          )
          yield* runner.rebuild(f.name)
          yield* appending.await
          yield* runner.waitForCatchUp(f.name)
          const rebuilt = yield* f.rows
          expect(rebuilt.map((row) => row.eventId)).toEqual((yield* f.events).map((event) => event.eventId))
          expect(rebuilt.slice(0, live.length)).toEqual(live)
          expect(new Set(rebuilt.map((row) => row.eventId)).size).toBe(rebuilt.length)
        }))

      test("a rebuild does not block the other projections", (f) =>
        Effect.gen(function*() {
          yield* f.append(5)
          const other = `${f.name}-other`
          const runner = yield* f.runner([f.projection(), f.projection({ name: other })])
          yield* runner.waitForCatchUp(f.name)
          yield* runner.rebuild(f.name)
          yield* f.append(1)
          yield* runner.waitForCatchUp(other)
          expect((yield* f.rowsOf(other)).length).toBe(6)
        }))
    })

    failureCases(test)
    leaseCases(test)
    parkingCases(test)
    rebuildParkedCases(test)
    parkedOrderCases(test)
    leaseRenewalCases(test)
    clockSkewCases(test)
  })
}
