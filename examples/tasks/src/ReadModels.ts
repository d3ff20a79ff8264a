/**
 * Creates every table of the example (read models and the policy journal) in a schema.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import * as ActiveSessions from "./ActiveSessions.js"
import * as PolicyJournal from "./PolicyJournal.js"
import * as TaskStatistics from "./TaskStatistics.js"

/** Creates the session list, the task board and the policy journal in `schema` (idempotent). */
export const migrate = (schema: string): Effect.Effect<void, SqlError, SqlClient.SqlClient> =>
  Effect.all([ActiveSessions.migrate(schema), TaskStatistics.migrate(schema), PolicyJournal.migrate(schema)], {
    discard: true
  })
