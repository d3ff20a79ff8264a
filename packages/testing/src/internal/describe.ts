/**
 * Renders values for assertion and law-violation messages.
 *
 * @internal
 */
import { inspect } from "node:util"

/** A value as a person reads it in a failure message (bigint, Date, Map and cycles included). */
export const render = (value: unknown): string => inspect(value, { depth: 8, breakLength: 120, compact: 4 })

/** The `_tag` of a tagged value, if it has one. */
export const tagOf = (value: unknown): string | undefined =>
  typeof value === "object" && value !== null && "_tag" in value && typeof value._tag === "string"
    ? value._tag
    : undefined

/** A domain error as plain data, its tag and fields without a stack, so diffs show the fields. */
export const plainError = (error: unknown): unknown => {
  if (typeof error !== "object" || error === null) return error
  const fields: Record<string, unknown> = {}
  for (const key of Object.keys(error)) fields[key] = (error as Record<string, unknown>)[key]
  return { _tag: tagOf(error) ?? error.constructor.name, ...fields }
}

/** The whole of a value as text, to notice when something mutated it (no depth or length cut). */
export const fingerprint = (value: unknown): string =>
  inspect(value, { depth: Infinity, maxArrayLength: Infinity, maxStringLength: Infinity, breakLength: Infinity })
