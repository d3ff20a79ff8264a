/**
 * Sending commands to a posting the way the workflow runner does: a submission starts a
 * correlation; every later step is caused by the posting's latest event and carries the
 * posting's correlation id, both read from the stream, so callers only pass the command.
 * (The stream tail is read anyway, to find an earlier copy of the command.)
 */
import * as IdempotentCommands from "./IdempotentCommands.js"
import type { Posting, PostingCommand } from "./Posting.js"

/** The stream of posting `postingId`. */
export const streamOf = (postingId: string): string => `posting-${postingId}`

/** Submits posting `postingId` under `correlationId` (the id every later event of the posting carries). */
export const submit = (
  posting: Posting,
  postingId: string,
  command: Extract<PostingCommand, { readonly _tag: "SubmitPosting" }>,
  correlationId: string
) =>
  IdempotentCommands.handle(posting, streamOf(postingId), command, {
    idempotencyKey: command.idempotencyKey,
    context: { correlationId }
  })

/**
 * Records a step of posting `postingId`: caused by the posting's latest event, under its
 * correlation id. On a posting with no events the command's idempotency key stands in for both
 * (the decider then refuses the step with `PostingNotFound`).
 */
export const record = (posting: Posting, postingId: string, command: PostingCommand) =>
  IdempotentCommands.handle(posting, streamOf(postingId), command, {
    idempotencyKey: command.idempotencyKey,
    context: (latest) =>
      latest === undefined
        ? { correlationId: command.idempotencyKey }
        : { correlationId: latest.metadata.correlationId ?? latest.eventId, causationId: latest.eventId }
  })
