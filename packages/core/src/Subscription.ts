/**
 * The catch-up-then-live loop shared by event store backends. A backend supplies a way to read
 * the log after a position and a way to wait until "something may have been appended"; the loop
 * turns them into a subscription that never skips, repeats or reorders events.
 *
 * @since 0.1.0
 */
import { Chunk, Effect, Option, Stream } from "effect"
import * as Position from "./Position.js"
import type { RecordedEvent } from "./RecordedEvent.js"

/**
 * What a backend supplies to {@link catchUpThenLive}.
 *
 * `currentToken` is read *before* each read of the log; when the read comes back empty,
 * `waitForAppend(token)` must return once something may have been appended since that token was
 * taken (a spurious wake-up is fine: the loop reads again). That ordering is what makes an
 * append landing between the read and the wait impossible to miss.
 *
 * @since 0.1.0
 * @category models
 */
export interface Source<Token, E> {
  /** Where the subscription starts: it delivers the events strictly after this position. */
  readonly after: Position.Position
  /** The most events one `readBatch` call returns. */
  readonly batchSize: number
  /** A token for "now", taken before each read, that `waitForAppend` waits past. */
  readonly currentToken: Effect.Effect<Token, E>
  /** Up to `limit` committed events strictly after `after`, in log order (empty when caught up). */
  readonly readBatch: (after: Position.Position, limit: number) => Effect.Effect<ReadonlyArray<RecordedEvent>, E>
  /** Completes once something may have been appended since `token` was taken (a wake-up or a poll). */
  readonly waitForAppend: (token: Token) => Effect.Effect<void, E>
}

/**
 * Reads the log in batches from `after`, and when it is caught up waits for appends, forever.
 * Each batch resumes strictly after the last event delivered.
 *
 * @since 0.1.0
 * @category constructors
 */
export const catchUpThenLive = <Token, E>(source: Source<Token, E>): Stream.Stream<RecordedEvent, E> =>
  Stream.paginateChunkEffect(source.after, (after) =>
    Effect.gen(function*() {
      for (;;) {
        const token = yield* source.currentToken
        const batch = yield* source.readBatch(after, source.batchSize)
        if (batch.length > 0) {
          const next = Position.of(batch[batch.length - 1])
          return [Chunk.unsafeFromArray(batch), Option.some(next)] as const
        }
        yield* source.waitForAppend(token)
      }
    }))
