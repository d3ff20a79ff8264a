/**
 * Quality scores: how good a validator judged a prompt, as a number from 0 (useless) to 1
 * (perfect), overall and per criterion (clarity, specificity, …). Commands carry plain numbers;
 * the deciders check them with {@link check} so a bad score is a domain error a caller can act
 * on, and events only ever hold valid scores.
 */
import { Data, Schema } from "effect"

/** A quality score: a number from 0 to 1, both included. */
export const QualityScore = Schema.Number.pipe(Schema.between(0, 1))

/**
 * A criterion's name. `"__proto__"` is refused: as a record key it does not survive Schema's
 * record encoding (it sets the prototype), and a breakdown must round-trip exactly.
 */
export const Criterion = Schema.String.pipe(
  Schema.filter((key) => key !== "__proto__", { message: () => "\"__proto__\" cannot name a criterion" })
)

/** A score per criterion (for example `{ clarity: 0.9, specificity: 0.6 }`). */
export const ScoreBreakdown = Schema.Record({ key: Criterion, value: QualityScore })

/** A score breakdown as decoded. */
export type ScoreBreakdown = typeof ScoreBreakdown.Type

/** A score (or one criterion of a breakdown) is not a number from 0 to 1. */
export class InvalidQualityScore extends Data.TaggedError("InvalidQualityScore")<{
  /** `"qualityScore"`, or `"breakdown.<criterion>"`. */
  readonly field: string
  readonly value: number
}> {
  override get message() {
    const got = Object.is(this.value, -0) ? "-0" : String(this.value)
    return `${this.field} must be a number from 0 to 1 (0 = useless, 1 = perfect), got ${got}; ` +
      `scores on a 0..100 scale must be divided by 100`
  }
}

// -0 is refused too: JSON cannot carry it, so the store refuses an event that holds it.
const inRange = (value: number): boolean => Number.isFinite(value) && value >= 0 && value <= 1 && !Object.is(value, -0)

/** The first score of `qualityScore` and `breakdown` that is out of range, if any. */
export const check = (
  qualityScore: number,
  breakdown: Readonly<Record<string, number>> = {}
): InvalidQualityScore | undefined => {
  if (!inRange(qualityScore)) return new InvalidQualityScore({ field: "qualityScore", value: qualityScore })
  for (const [criterion, value] of Object.entries(breakdown)) {
    if (!inRange(value)) return new InvalidQualityScore({ field: `breakdown.${criterion}`, value })
  }
  return undefined
}
