import { Chunk, Effect, Option, Stream } from "effect"
import * as Position from "../Position.js"
import type { RecordedEvent } from "../RecordedEvent.js"

/**
 * A catch-up-then-live subscription over any store that can read the log after a position and
 * wait for "something was appended". `waitForAppend` receives a token taken *before* the read
 * that came back empty, so an append that lands between the read and the wait is never missed.
 */
export const catchUpThenLive = <Token, E>(options: {
  readonly after: Position.Position
  readonly batchSize: number
  readonly currentToken: Effect.Effect<Token, E>
  readonly readBatch: (after: Position.Position, limit: number) => Effect.Effect<ReadonlyArray<RecordedEvent>, E>
  readonly waitForAppend: (token: Token) => Effect.Effect<void, E>
}): Stream.Stream<RecordedEvent, E> =>
  Stream.paginateChunkEffect(options.after, (after) =>
    Effect.gen(function*() {
      for (;;) {
        const token = yield* options.currentToken
        const batch = yield* options.readBatch(after, options.batchSize)
        if (batch.length > 0) {
          const next = Position.of(batch[batch.length - 1])
          return [Chunk.unsafeFromArray(batch), Option.some(next)] as const
        }
        yield* options.waitForAppend(token)
      }
    }))
