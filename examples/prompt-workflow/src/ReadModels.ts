/**
 * All the read models of the example together: one migration and the list of projections to
 * hand to a `ProjectionRunner`.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import * as AttemptsExhaustedAlerts from "./AttemptsExhaustedAlerts.js"
import * as PromptCatalog from "./PromptCatalog.js"
import * as SessionList from "./SessionList.js"
import * as ValidationHistory from "./ValidationHistory.js"

/** Creates every read-model table in `schema` (which must exist) if it is not there. */
export const migrate = (schema: string): Effect.Effect<void, SqlError, SqlClient.SqlClient> =>
  Effect.all([SessionList.migrate(schema), PromptCatalog.migrate(schema), ValidationHistory.migrate(schema)], {
    discard: true
  })

/**
 * The three read-model projections writing to `schema`, and the alerting subscriber. A
 * `nameSuffix` gives them their own checkpoints (a second set of read models on the same log).
 */
export const projections = (schema: string, nameSuffix = "") =>
  [
    SessionList.projection(schema, SessionList.projectionName + nameSuffix),
    PromptCatalog.projection(schema, PromptCatalog.projectionName + nameSuffix),
    ValidationHistory.projection(schema, ValidationHistory.projectionName + nameSuffix),
    AttemptsExhaustedAlerts.makeProjection(AttemptsExhaustedAlerts.projectionName + nameSuffix)
  ] as const
