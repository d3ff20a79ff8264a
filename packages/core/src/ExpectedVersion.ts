/**
 * What a writer expects of a stream when it appends: the optimistic concurrency check.
 *
 * Stream versions are 1-based and dense: a stream with three events is at version 3; a stream
 * that does not exist is at version 0.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * The four expectations of KurrentDB/EventStoreDB:
 * - `Any`: no check.
 * - `NoStream`: the stream must not exist (version 0).
 * - `StreamExists`: the stream must have at least one event.
 * - `Exact`: the stream must be at exactly `version` (0 means "does not exist").
 *
 * @since 0.1.0
 * @category models
 */
export type ExpectedVersion = Data.TaggedEnum<{
  /** No check: append whatever the stream's version. */
  Any: {}
  /** The stream must not exist (version 0). */
  NoStream: {}
  /** The stream must have at least one event. */
  StreamExists: {}
  /** The stream must be at exactly `version`. */
  Exact: {
    /** The stream version expected (0: the stream does not exist). */
    readonly version: number
  }
}>

const { $is, $match, Any: makeAny, Exact: makeExact, NoStream: makeNoStream, StreamExists: makeStreamExists } = Data
  .taggedEnum<ExpectedVersion>()

/**
 * Append whatever the stream's version.
 *
 * @since 0.1.0
 * @category constructors
 */
export const Any: ExpectedVersion = makeAny()

/**
 * Append only if the stream does not exist yet.
 *
 * @since 0.1.0
 * @category constructors
 */
export const NoStream: ExpectedVersion = makeNoStream()

/**
 * Append only if the stream already has events.
 *
 * @since 0.1.0
 * @category constructors
 */
export const StreamExists: ExpectedVersion = makeStreamExists()

/**
 * Append only if the stream is at exactly `version` (a non-negative integer).
 *
 * @since 0.1.0
 * @category constructors
 */
export const Exact = (version: number): ExpectedVersion => {
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new RangeError(`ExpectedVersion.Exact needs a non-negative integer, got ${version}`)
  }
  return makeExact({ version })
}

/**
 * The expectation that matches a stream last seen at `version`: `NoStream` for 0, else `Exact`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromLoadedVersion = (version: number): ExpectedVersion => version === 0 ? NoStream : Exact(version)

/**
 * Refines an `ExpectedVersion` by its tag.
 *
 * @since 0.1.0
 * @category guards
 */
export const is = $is

/**
 * Pattern-matches an `ExpectedVersion`.
 *
 * @since 0.1.0
 * @category pattern matching
 */
export const match = $match

/**
 * Whether a stream currently at `actual` (0 = absent) satisfies the expectation.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isSatisfiedBy = (expected: ExpectedVersion, actual: number): boolean => {
  switch (expected._tag) {
    case "Any":
      return true
    case "NoStream":
      return actual === 0
    case "StreamExists":
      return actual > 0
    case "Exact":
      return actual === expected.version
  }
}

/**
 * A person-readable rendering: `any`, `no stream`, `stream exists`, `version 3`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (expected: ExpectedVersion): string => {
  switch (expected._tag) {
    case "Any":
      return "any version"
    case "NoStream":
      return "no stream"
    case "StreamExists":
      return "an existing stream"
    case "Exact":
      return `version ${expected.version}`
  }
}
