/**
 * `npm start`: a guided tour of the examples on PostgreSQL, printed step by step. It runs on a
 * throwaway embedded PostgreSQL unless `DATABASE_URL` points at a server. Each stop gets its own
 * fresh Facta schema (dropped at the end), so the stops never see each other's streams.
 */
import { NodeRuntime } from "@effect/platform-node"
import * as SqlClient from "@effect/sql/SqlClient"
import { PgStore } from "@facta/postgres"
import * as TestDatabase from "@facta/testing/TestDatabase"
import { Console, Effect } from "effect"
import { stops } from "./stops.js"

const main = Effect.gen(function*() {
  const server = yield* TestDatabase.scoped
  yield* Console.log(
    `Facta — a guided tour of the examples on PostgreSQL (${
      server.embedded ? "a throwaway embedded server" : `DATABASE_URL: ${PgStore.describeUrl(server.url)}`
    })`
  )
  for (const [index, stop] of stops.entries()) {
    const schema = TestDatabase.uniqueSchemaName("facta_tour")
    yield* Console.log(
      `\n${"=".repeat(100)}\n${index + 1}/${stops.length} ${stop.title}\n${stop.summary}\n${"=".repeat(100)}`
    )
    yield* stop.tour.pipe(
      Effect.ensuring(
        Effect.ignore(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`))
      ),
      Effect.provide(PgStore.layerFromUrl(server.url, { schema }))
    )
  }
  yield* Console.log(
    `\nThe tour is over: ${stops.length} examples ran on PostgreSQL. Their code and READMEs are under examples/.`
  )
})

main.pipe(Effect.scoped, NodeRuntime.runMain)
