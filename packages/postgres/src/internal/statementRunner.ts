/**
 * Runs the event store's hottest statements on the `PgPool` directly when there is one (see
 * `PgPool`), and through `@effect/sql` otherwise (or inside one of its transactions).
 *
 * On the direct path a statement is one `Effect.async` step: the connection, the round trip and
 * what the caller makes of the rows (`complete`), with no span, scope or per-statement
 * bookkeeping. At one append at a time every step an append takes comes out of its latency, so
 * the statement's text is written once and its outcome mapped in the same step (the figures are
 * in docs/performance.md).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import type { Fiber, Tracer } from "effect"
import { Cause, Context, Effect, FiberRef, Option, RuntimeFlags } from "effect"
import pg from "pg"
import { PgPool } from "../PgPool.js"
import { sendCancelRequest } from "./cancelRequest.js"

/**
 * What a statement's caller makes of its outcome: its rows, or the `SqlError` it failed with
 * (then `rows` is empty).
 */
export type Complete<Row, A, E> = (error: SqlError | undefined, rows: ReadonlyArray<Row>) => Effect.Effect<A, E>

/**
 * Reads one row, given as its columns in select-list order, into what the caller keeps. Each
 * statement gets a reader of its own (see `Runner.read`), so a reader may carry state from one
 * row to the next. It must not throw for any row its statement can return; if it does, the
 * statement fails with a `SqlError` carrying what it threw.
 */
export type RowReader<Row> = (columns: ReadonlyArray<unknown>) => Row

/**
 * A statement whose rows `Runner.read` reads, in two texts with the same placeholders and the
 * same columns in the same order: `text` runs on the `PgPool`, its columns parsed by `types`
 * (node-postgres's per-statement parsers, which the pool's and the application's do not
 * change); `portableText` runs through `@effect/sql`, whose client parses with its own.
 */
export interface ReadStatement {
  readonly text: string
  readonly types: pg.CustomTypesConfig
  readonly portableText: string
}

/**
 * Runs statements of PostgreSQL text with `$1, $2, …` placeholders.
 */
export interface Runner {
  /**
   * Runs `text` with `values` and continues with `complete`, the rows as objects keyed by
   * column name. Through `@effect/sql` its span nests under `parent` when given (the direct path
   * creates no span).
   */
  readonly query: <Row, A, E>(
    text: string,
    values: ReadonlyArray<unknown>,
    complete: Complete<Row, A, E>,
    parent?: Tracer.Span
  ) => Effect.Effect<A, E>
  /**
   * Runs `statement` with `values`, reads every row with a reader made by `reader` for this
   * statement, and continues with `complete` and what the reader made of the rows.
   *
   * On the direct path each row is read as it arrives, while the server is still sending the
   * rows after it, so a page is ready when its last row is: reading 90,000 events in pages of
   * 1,000 took ~5 % less time than with the same rows converted once each page had arrived, the
   * conversion otherwise being time in which neither side works (embedded PostgreSQL 17, two
   * cores). The rows come as arrays (`rowMode: "array"`), so no object keyed by column name is
   * built per row; through `@effect/sql`, `Statement.values` gives the same arrays.
   */
  readonly read: <Row, A, E>(
    statement: ReadStatement,
    values: ReadonlyArray<unknown>,
    reader: () => RowReader<Row>,
    complete: Complete<Row, A, E>,
    parent?: Tracer.Span
  ) => Effect.Effect<A, E>
}

const noRows: ReadonlyArray<never> = []

/** The `Complete` that keeps the rows, or fails with the `SqlError`. */
export const rowsOrFailure = <Row>(
  error: SqlError | undefined,
  rows: ReadonlyArray<Row>
): Effect.Effect<ReadonlyArray<Row>, SqlError> => error === undefined ? Effect.succeed(rows) : Effect.fail(error)

/**
 * A runner over the `SqlClient` in the context, and over the `PgPool` directly when the context
 * has one and the fiber is not inside an `@effect/sql` transaction. `query`'s rows come back as
 * node-postgres parses them with the pool's parsers either way (select text where the
 * application's parsers must not matter); `read`'s as its statement's two texts say. Errors are
 * `SqlError`s.
 *
 * With `prepare`, a direct statement is a named prepared statement (named after its text), so
 * each connection parses and plans it once instead of on every run.
 */
export const makeRunner = (options: { readonly prepare: boolean }): Effect.Effect<Runner, never, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const pool = yield* Effect.serviceOption(PgPool)

    const viaClient = <Row, A, E>(
      text: string,
      values: ReadonlyArray<unknown>,
      complete: Complete<Row, A, E>,
      parent?: Tracer.Span
    ): Effect.Effect<A, E> => {
      const statement = sql.unsafe<Row & object>(text, values)
      return Effect.matchEffect(parent === undefined ? statement : Effect.withParentSpan(statement, parent), {
        onFailure: (error) => complete(error, noRows),
        onSuccess: (rows) => complete(undefined, rows)
      })
    }

    const readViaClient = <Row, A, E>(
      text: string,
      values: ReadonlyArray<unknown>,
      reader: () => RowReader<Row>,
      complete: Complete<Row, A, E>,
      parent?: Tracer.Span
    ): Effect.Effect<A, E> => {
      const statement = sql.unsafe(text, values).values
      return Effect.matchEffect(parent === undefined ? statement : Effect.withParentSpan(statement, parent), {
        onFailure: (error) => complete(error, noRows),
        onSuccess: (rows) => {
          const read = readRows(rows, reader())
          return read instanceof SqlError ? complete(read, noRows) : complete(undefined, read)
        }
      })
    }

    if (Option.isNone(pool)) {
      return {
        query: viaClient,
        read: (statement, values, reader, complete, parent) =>
          readViaClient(statement.portableText, values, reader, complete, parent)
      }
    }

    const direct = directQuery(pool.value, options.prepare)
    // Inside an @effect/sql transaction a statement must run on the transaction's connection.
    const inTransaction = (fiber: Fiber.RuntimeFiber<unknown, unknown>) =>
      Context.getOption(fiber.currentContext, SqlClient.TransactionConnection)._tag === "Some"
    // An interruptible fiber can be interrupted while it waits for the pool: watch it.
    const watched = (fiber: Fiber.RuntimeFiber<unknown, unknown>, runtimeFlags: RuntimeFlags.RuntimeFlags) =>
      RuntimeFlags.interruptible(runtimeFlags) ? fiber : undefined
    const query: Runner["query"] = (text, values, complete, parent) =>
      Effect.withFiberRuntime((fiber, status) =>
        inTransaction(fiber)
          ? viaClient(text, values, complete, parent)
          : direct(text, values, complete, watched(fiber, status.runtimeFlags))
      )
    const read: Runner["read"] = (statement, values, reader, complete, parent) =>
      Effect.withFiberRuntime((fiber, status) =>
        inTransaction(fiber)
          ? readViaClient(statement.portableText, values, reader, complete, parent)
          : direct(statement.text, values, complete, watched(fiber, status.runtimeFlags), {
            types: statement.types,
            reader
          })
      )
    return { query, read }
  })

/** Every row read with `read`, or a `SqlError` with what it threw. */
const readRows = <Row>(rows: ReadonlyArray<ReadonlyArray<unknown>>, read: RowReader<Row>): Array<Row> | SqlError => {
  const out: Array<Row> = new Array(rows.length)
  try {
    for (let index = 0; index < rows.length; index++) out[index] = read(rows[index])
  } catch (cause) {
    return unreadable(cause)
  }
  return out
}

const unreadable = (cause: unknown) => new SqlError({ cause, message: "Failed to read a row" })

/** How a direct statement's rows are read (see `Runner.read`): parsed with `types`, by `reader`. */
interface Reading<Row> {
  readonly types: pg.CustomTypesConfig
  readonly reader: () => RowReader<Row>
}

/**
 * One statement on a pooled connection, then `complete`, in a single step. The connection goes
 * back to the pool when the statement has finished, even if the fiber was interrupted meanwhile
 * (a connection handed back mid-statement would make its next user wait behind it). With a
 * `reading`, the rows come as arrays and are read as they arrive (see `Runner.read`); without
 * one, they come as objects keyed by column name, parsed with the pool's parsers.
 *
 * Interruption: an interruptible fiber stops waiting at once (Effect resumes it with the
 * interruption, and ignores the resumption that comes later); a statement whose `fiber` was
 * interrupted before it got a connection is not sent, and one already sent is canceled on the
 * server when the fiber ends (see `sendCancelRequest`), its connection kept until it has ended.
 * That is watched on the fiber rather than with a canceler: `Effect.async` wraps a canceler in
 * an interruption handler, six more steps on every statement.
 */
const directQuery = (pool: pg.Pool, prepare: boolean) => {
  const cancelTimeoutMillis = pool.options.connectionTimeoutMillis || 5_000
  // The event store's texts are few (one per statement and filter shape): each is named once.
  const names = new Map<string, string>()
  const nameOf = (text: string): string => {
    let name = names.get(text)
    if (name === undefined) {
      name = statementName(text)
      if (names.size < 1_000) names.set(text, name)
    }
    return name
  }
  return <Row, A, E>(
    text: string,
    values: ReadonlyArray<unknown>,
    complete: Complete<Row, A, E>,
    fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined,
    reading?: Reading<Row>
  ): Effect.Effect<A, E> =>
    Effect.async<A, E>((resume) => {
      // A named statement of text read as arrays differs from the same text read as objects only
      // in how node-postgres parses its rows, not on the server: the two share the name.
      const config: pg.QueryConfig = prepare
        ? { name: nameOf(text), text, values: values as Array<unknown> }
        : { text, values: values as Array<unknown> }
      pool.connect((connectError, client, release) => {
        if (connectError || !client) {
          resume(complete(new SqlError({ cause: connectError, message: "Failed to acquire connection" }), noRows))
          return
        }
        if (fiber !== undefined && !Cause.isEmpty(fiber.getFiberRef(FiberRef.interruptedCause))) return release()
        // A connection that breaks mid-statement emits "error" besides failing the statement.
        let broken: unknown = undefined
        const onError = (cause: unknown) => void (broken = cause)
        client.on("error", onError)
        let ended = false
        let canceling = false
        // The pool discards a connection released with an error.
        const releaseClient = () => release(broken === undefined ? undefined : broken as Error)
        // The fiber can only end before the statement if it was interrupted: cancel the
        // statement on the server (a canceled statement rolls back), and keep the connection
        // until both the statement and the cancel request are done, so that neither a late
        // statement nor a late cancel reaches the connection's next user.
        const onFiberExit = () => {
          if (ended || canceling) return
          canceling = true
          sendCancelRequest(pool, client, cancelTimeoutMillis, (delivered) => {
            canceling = false
            if (!delivered) broken ??= new Error("Facta: the cancel request was not delivered")
            if (ended) releaseClient()
          })
        }
        fiber?.addObserver(onFiberExit)
        const finish = (error: unknown, rows: ReadonlyArray<Row>) => {
          ended = true
          client.off("error", onError)
          fiber?.removeObserver(onFiberExit)
          if (!canceling) releaseClient()
          resume(
            error === undefined
              ? complete(undefined, rows)
              : complete(
                error instanceof SqlError
                  ? error
                  : new SqlError({ cause: error, message: "Failed to execute statement" }),
                noRows
              )
          )
        }
        if (reading === undefined) {
          client.query(config, (error: Error | null | undefined, result: pg.QueryResult) =>
            error === null || error === undefined
              ? finish(undefined, result.rows as ReadonlyArray<Row>)
              : finish(error, noRows))
          return
        }
        const read = reading.reader()
        const rows: Array<Row> = []
        let failed: SqlError | undefined = undefined
        // The callback, not the "end" and "error" events, tells how the statement ended: with a
        // query_timeout node-postgres reports a timeout to the callback alone.
        const statement = new pg.Query<Array<unknown>>(
          { ...config, rowMode: "array", types: reading.types } as pg.QueryConfig,
          undefined,
          (error: Error | null | undefined) =>
            error === null || error === undefined
              ? finish(failed, failed === undefined ? rows : noRows)
              : finish(error, noRows)
        )
        statement.on("row", (columns: Array<unknown>) => {
          if (failed !== undefined) {
            return
          }
          try {
            rows.push(read(columns))
          } catch (cause) {
            failed = unreadable(cause)
          }
        })
        client.query(statement)
      })
    })
}

/**
 * A prepared statement's name from its text: `facta_` and a 64-bit FNV-1a hash in hex (two 32-bit
 * lanes). A connection holds one statement per name, so different texts must never share one; a
 * hash keeps the name inside PostgreSQL's 63 bytes whatever the schema's name.
 */
const statementName = (text: string): string => {
  let low = 0x811c9dc5
  let high = 0xcbf29ce4
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index)
    low = Math.imul(low ^ code, 0x01000193)
    high = Math.imul(high ^ code ^ (low >>> 24), 0x01000193)
  }
  return `facta_${(high >>> 0).toString(16).padStart(8, "0")}${(low >>> 0).toString(16).padStart(8, "0")}`
}
