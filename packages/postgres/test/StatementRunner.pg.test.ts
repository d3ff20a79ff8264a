/**
 * The statement runner's `read`: rows read as they arrive on the pool, with the statement's own
 * type parsers; the portable text through `@effect/sql` (inside a transaction, or without a
 * `PgPool`); a reader that throws fails the statement with a `SqlError` and gives its connection
 * back.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type pg from "pg"
import { makeRunner, type ReadStatement, rowsOrFailure } from "../src/internal/statementRunner.js"
import { clientLayer, plainClientLayer } from "./support.js"

/** Every column as text, marked: shows that the statement's parsers, not the pool's, ran. */
const markedText: pg.CustomTypesConfig = {
  getTypeParser: (() => (text: string) => `text:${text}`) as pg.CustomTypesConfig["getTypeParser"]
}

/** Three rows of two columns; the portable text gives the same values as plain text. */
const statement: ReadStatement = {
  text: "SELECT n, n * 10 AS tens FROM generate_series(1, $1::int) AS n ORDER BY n",
  types: markedText,
  portableText: "SELECT n::text AS n, (n * 10)::text AS tens FROM generate_series(1, $1::int) AS n ORDER BY n"
}

/** A reader that numbers the rows it reads: one reader per statement. */
const numbering = () => {
  let index = 0
  return (columns: ReadonlyArray<unknown>) => `${index++}:${columns.join("/")}`
}

const runner = makeRunner({ prepare: true })

describe("statement runner: read", () => {
  it.scoped("on the pool: each statement gets a reader of its own, and its columns come as the statement's types parse them", () =>
    Effect.gen(function*() {
      const { read } = yield* runner
      expect(yield* read(statement, [3], numbering, rowsOrFailure)).toEqual([
        "0:text:1/text:10",
        "1:text:2/text:20",
        "2:text:3/text:30"
      ])
      expect(yield* read(statement, [1], numbering, rowsOrFailure)).toEqual(["0:text:1/text:10"])
    }).pipe(Effect.provide(clientLayer(2))))

  it.scoped("inside an @effect/sql transaction: the portable text, on the transaction's connection", () =>
    Effect.gen(function*() {
      const { read } = yield* runner
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql.withTransaction(
        Effect.zipRight(
          sql`CREATE TEMPORARY TABLE only_here (n int) ON COMMIT DROP`,
          read(
            {
              text: "SELECT 'pool' FROM only_here",
              types: markedText,
              portableText: "SELECT 'transaction', $1::text FROM only_here RIGHT JOIN (SELECT 1) AS one ON true"
            },
            ["x"],
            numbering,
            rowsOrFailure
          )
        )
      )
      expect(rows).toEqual(["0:transaction/x"])
    }).pipe(Effect.provide(clientLayer(2))))

  it.scoped("without a PgPool: the portable text through @effect/sql", () =>
    Effect.gen(function*() {
      const { read } = yield* runner
      expect(yield* read(statement, [2], numbering, rowsOrFailure)).toEqual(["0:1/10", "1:2/20"])
    }).pipe(Effect.provide(plainClientLayer(2))))

  const throwing = () => (columns: ReadonlyArray<unknown>) => {
    if (columns[0] === "text:2" || columns[0] === "2") throw new Error("unreadable row")
    return columns[0]
  }

  for (const [path, layer] of [["on the pool", clientLayer(1)], ["without a PgPool", plainClientLayer(1)]] as const) {
    it.scoped(`${path}: a reader that throws fails the statement with a SqlError, and the connection is free again`, () =>
      Effect.gen(function*() {
        const { read } = yield* runner
        const error = yield* Effect.flip(read(statement, [3], throwing, rowsOrFailure))
        expect(error).toBeInstanceOf(SqlError)
        expect(error.message).toBe("Failed to read a row")
        expect(error.cause).toEqual(new Error("unreadable row"))
        // One connection: the next statement runs only if the failed one gave it back.
        expect(yield* read(statement, [1], numbering, rowsOrFailure).pipe(Effect.timeout("5 seconds"))).toHaveLength(1)
      }).pipe(Effect.provide(layer as Layer.Layer<SqlClient.SqlClient, unknown>)))
  }
})
