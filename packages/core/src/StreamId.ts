/**
 * Stream identifiers: the name of one event stream, conventionally `"<category>-<id>"`.
 *
 * @since 0.1.0
 */
import { Data, Effect, Either, Schema } from "effect"

/**
 * The longest stream id Facta accepts, in UTF-16 code units.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxLength = 512

/**
 * Raised when a string cannot be used as a stream id.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidStreamId extends Data.TaggedError("InvalidStreamId")<{
  /** The string rejected as a stream id. */
  readonly streamId: string
  /** Why it is not a valid stream id. */
  readonly reason: string
}> {
  /** Names the input (its first 80 characters), then the reason. */
  override get message(): string {
    return `Invalid stream id ${JSON.stringify(truncate(this.streamId))}: ${this.reason}`
  }
}

const truncate = (s: string): string => (s.length > 80 ? `${s.slice(0, 80)}…` : s)

// eslint-disable-next-line no-control-regex
const controlCharacter = /[\u0000-\u001f\u007f]/

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/**
 * Why `input` is not a valid stream id, or `undefined` when it is.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (input: string): string | undefined => {
  if (typeof input !== "string") return "a stream id must be a string"
  if (input.length === 0) return "a stream id must not be empty"
  if (input.length > maxLength) return `a stream id must be at most ${maxLength} characters (got ${input.length})`
  const match = controlCharacter.exec(input)
  if (match !== null) {
    const code = match[0].charCodeAt(0).toString(16).padStart(4, "0")
    return `a stream id must not contain control characters (found U+${code} at index ${match.index})`
  }
  const lone = loneSurrogate.exec(input)
  if (lone !== null) {
    // Databases store text as UTF-8, where a lone surrogate cannot exist: it would be replaced.
    return `a stream id must be well-formed Unicode (a lone surrogate at index ${lone.index})`
  }
  return undefined
}

/**
 * The schema of a stream id: a non-empty string of at most 512 characters without control
 * characters, branded `StreamId`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StreamId = Schema.String.pipe(
  Schema.filter((s) => validate(s) ?? true, { identifier: "StreamId" }),
  Schema.brand("StreamId")
)

/**
 * A validated stream id.
 *
 * @since 0.1.0
 * @category models
 */
export type StreamId = typeof StreamId.Type

/**
 * Validates a string as a stream id.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (input: string): Effect.Effect<StreamId, InvalidStreamId> =>
  Either.match(either(input), { onLeft: Effect.fail, onRight: Effect.succeed })

/**
 * Validates a string as a stream id, returning an `Either`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const either = (input: string): Either.Either<StreamId, InvalidStreamId> => {
  const reason = validate(input)
  return reason === undefined
    ? Either.right(input as StreamId)
    : Either.left(new InvalidStreamId({ streamId: String(input), reason }))
}

/**
 * Validates a string as a stream id and throws `InvalidStreamId` when it is not one.
 * For constants in code; use {@link make} for input from outside.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake = (input: string): StreamId => Either.getOrThrowWith(either(input), (error) => error)

/**
 * Builds `"<category>-<id>"`. The category must not contain `-`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromCategory = (category: string, id: string): Effect.Effect<StreamId, InvalidStreamId> =>
  category.length === 0 || category.includes("-")
    ? Effect.fail(
      new InvalidStreamId({
        streamId: `${category}-${id}`,
        reason: `the category ${JSON.stringify(category)} must be non-empty and must not contain "-"`
      })
    )
    : make(`${category}-${id}`)

/**
 * The category of a stream id: the text before the first `-`, or the whole id when it has none.
 *
 * @since 0.1.0
 * @category accessors
 */
export const category = (streamId: string): string => {
  const dash = streamId.indexOf("-")
  return dash === -1 ? streamId : streamId.slice(0, dash)
}
