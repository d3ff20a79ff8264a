/**
 * A short scripted tour of the prompt workflow on the stores in the context: two sessions (one
 * approved on its second attempt, one that runs out of attempts), the read models caught up by
 * a `ProjectionRunner`, and what the queries, the alert, the temporal load and the audit trail
 * say. Read models go to a fresh Postgres schema that is dropped at the end; names carry a run
 * tag so the tour can run again on the same database, and the output leaves it out.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { CheckpointStore, EventStore, SnapshotStore } from "@facta/core"
import { ProjectionRunner, type ProjectionStore } from "@facta/core"
import { Console, Effect, Option } from "effect"
import * as AttemptsExhaustedAlerts from "./AttemptsExhaustedAlerts.js"
import * as AuditTrail from "./AuditTrail.js"
import * as PromptCatalog from "./PromptCatalog.js"
import * as PromptWorkflow from "./PromptWorkflow.js"
import * as ReadModels from "./ReadModels.js"
import * as SessionList from "./SessionList.js"
import * as ValidationHistory from "./ValidationHistory.js"
import type { WorkflowSessionCommand } from "./WorkflowSession.js"
import { stateAsOf } from "./WorkflowSession.js"

const validate = (qualityScore: number): WorkflowSessionCommand => ({
  _tag: "ValidatePrompt",
  qualityScore,
  breakdown: { clarity: qualityScore, specificity: qualityScore }
})

/** Runs the tour, printing what happens. */
export const tour: Effect.Effect<
  void,
  unknown,
  | EventStore.EventStore
  | SnapshotStore.SnapshotStore
  | CheckpointStore.CheckpointStore
  | ProjectionStore.ProjectionStore
  | SqlClient.SqlClient
> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const tag = crypto.randomUUID().slice(0, 8)
  const schema = `prompt_workflow_tour_${tag}`
  const hide = (text: string) => text.replaceAll(`-${tag}`, "")
  yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(schema)}`
  yield* Effect.addFinalizer(() => Effect.ignore(sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`))
  yield* ReadModels.migrate(schema)
  const projections = ReadModels.projections(schema, `_tour_${tag}`)
  const runner = yield* ProjectionRunner.make(projections)

  const happy = `happy-${tag}`
  const doomed = `doomed-${tag}`
  const step = (sessionId: string, userId: string, command: WorkflowSessionCommand, print = true) =>
    PromptWorkflow.send(sessionId, command, { userId, correlationId: `${sessionId}-request` }).pipe(
      Effect.tap((result) =>
        print
          ? Console.log(`  ${userId}: ${command._tag} -> ${result.events.map((event) => event._tag).join(", ")}`)
          : Effect.void
      )
    )

  yield* Console.log("Prompt workflow tour: Ada's session succeeds on its second attempt")
  const summary = `email-summary-${tag}`
  yield* step(happy, "ada", { _tag: "StartSession", userRequest: "Summarize support emails", maxAttempts: 3 })
  yield* step(happy, "ada", { _tag: "AnalyzeTask", taskType: "summarization", requirements: ["urgency first"] })
  yield* step(happy, "ada", { _tag: "GeneratePrompt", promptName: summary, text: "Summarize {{email}}." })
  yield* step(happy, "ada", validate(0.45))
  yield* step(happy, "ada", { _tag: "RejectPrompt", feedback: "say what is urgent" })
  yield* step(happy, "ada", { _tag: "ApplyFeedback", changes: "urgency line first" })
  yield* step(happy, "ada", { _tag: "RetryAttempt" })
  yield* step(happy, "ada", {
    _tag: "GeneratePrompt",
    promptName: summary,
    text: "Summarize {{email}}, urgency first."
  })
  yield* step(happy, "ada", validate(0.88))
  yield* step(happy, "ada", { _tag: "ApprovePrompt" })
  const refused = yield* Effect.flip(PromptWorkflow.send(happy, { _tag: "ApprovePrompt" }))
  yield* Console.log(`  approving again is refused: ${refused.message}`)

  yield* Console.log("Bob's single-attempt session: started, analyzed, generated, then")
  yield* step(doomed, "bob", { _tag: "StartSession", userRequest: "Write release notes", maxAttempts: 1 }, false)
  yield* step(doomed, "bob", { _tag: "AnalyzeTask", taskType: "writing", requirements: [] }, false)
  yield* step(doomed, "bob", {
    _tag: "GeneratePrompt",
    promptName: `release-notes-${tag}`,
    text: "Write notes for {{changes}}."
  }, false)
  yield* step(doomed, "bob", { _tag: "RejectPrompt", feedback: "no audience" })

  yield* Effect.forEach(projections, (projection) => runner.waitForCatchUp(projection.name), { discard: true })
  yield* Console.log("Read models, caught up:")
  // The read models replay the whole log, earlier tours included: show this tour's sessions.
  for (
    const row of (yield* Effect.forEach([happy, doomed], (id) => SessionList.byId(schema, id))).flatMap(Option.toArray)
  ) {
    yield* Console.log(
      `  session ${hide(row.sessionId)}: ${row.status} after ${row.attempts}/${row.maxAttempts} attempt(s)`
    )
  }
  const prompt = Option.getOrThrow(yield* PromptCatalog.byName(schema, summary))
  yield* Console.log(
    `  catalog: ${hide(prompt.name)} is ${prompt.status} at ${prompt.qualityScore}, text "${prompt.currentText}"`
  )
  const trend = yield* ValidationHistory.qualityTrend(schema, summary)
  yield* Console.log(
    `  quality trend: ${trend.points.map((point) => point.qualityScore).join(" -> ")} (${trend.direction})`
  )
  const alerts = (yield* AttemptsExhaustedAlerts.alerts).filter((alert) => alert.sessionId === doomed)
  yield* Console.log(`  alerts for Bob's session: ${alerts.length} (last feedback "${alerts[0]?.lastFeedback}")`)
  const earlier = yield* stateAsOf(happy, { version: 5 })
  const phase = earlier.state._tag === "Active" ? earlier.state.phase : earlier.state._tag
  yield* Console.log(`  Ada's session as of version 5: ${phase}`)
  yield* Console.log("Audit trail of Ada's session (first three entries):")
  for (const entry of (yield* AuditTrail.ofSession(happy)).slice(0, 3)) {
    yield* Console.log(`  #${entry.version} ${entry.userId} ${hide(entry.summary)}`)
  }
}).pipe(Effect.scoped)
