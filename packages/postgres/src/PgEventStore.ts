/**
 * The event store on PostgreSQL.
 *
 * - Append: one round trip to the `append_events` function (see `PgSchema`), which checks the
 *   expected version, bumps the stream, inserts the events and notifies listeners on commit.
 * - Global order without skips: the log is read by `(transaction_id, global_position)` and only
 *   below `pg_snapshot_xmin(pg_current_snapshot())`, so a reader never passes an event that a
 *   still-open transaction will commit later.
 * - Live subscriptions wake up on `LISTEN/NOTIFY` and poll as a fallback. Appends notify only
 *   while some process listens (it holds a lease in the `listeners` table): a NOTIFY makes
 *   commits database-wide take turns.
 * - Inline projections (option `inline`) run inside the append's transaction: the events and the
 *   read-model writes commit together, or the append fails with `InlineProjectionFailed` and
 *   records nothing. Without them the append stays one round trip.
 *
 * @since 0.1.0
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import type { Fragment } from "@effect/sql/Statement"
import type { RecordedEvent, StreamId } from "@facta/core"
import { EventStore, ExpectedVersion, InlineProjection, Position, Projection, Subscription } from "@facta/core"
import type { Scope, Tracer } from "effect"
import { Chunk, Duration, Effect, Layer, Option, RcRef, Schedule, Stream, SubscriptionRef } from "effect"
import { eventReader, eventStatement, type Payload, payloadReader, payloadStatement } from "./internal/eventRow.js"
import { holdListenerLease } from "./internal/listenerLease.js"
import { isDataRefusal, isLockTimeout, sqlErrorDefectAsFailure, sqlStateOf } from "./internal/sqlState.js"
import { type Complete, makeRunner, type ReadStatement, rowsOrFailure } from "./internal/statementRunner.js"
import * as PgSchema from "./PgSchema.js"

/**
 * Options of the Postgres event store, its payload limits included (`maxPayloadBytes`,
 * `maxDepth`: see `EventStore.PayloadLimits`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<Inline extends ReadonlyArray<Projection.Any> = ReadonlyArray<Projection.Any>>
  extends EventStore.PayloadLimits
{
  /** The Postgres schema holding the tables (default `facta`). */
  readonly schema?: string
  /** Run pending migrations when the layer starts (default `true`). */
  readonly migrate?: boolean
  /** How often a caught-up subscription polls when no notification arrives (default 1 second). */
  readonly pollInterval?: Duration.DurationInput
  /** How many events one read round trip fetches (default 1,000). */
  readonly readBatchSize?: number
  /**
   * Projections to run inside each append's transaction (read models that must never lag, such
   * as a uniqueness index). Their handlers get the appended events that match their filter,
   * decoded, with positions; they must write through the same `SqlClient` to join the
   * transaction. A handler's failure (or an event it cannot decode) rejects the append with
   * `InlineProjectionFailed`, unretried. A repeated (idempotent) append does not run them again.
   * Their `setup`s run when the layer starts (after migrations), in order, each in a transaction
   * of its own; one that fails fails the layer with `SetupFailed`, unretried.
   */
  readonly inline?: Inline
  /**
   * Run the hottest statements on the `PgPool` (appends, stream versions, page reads) as named
   * prepared statements, parsed and planned once per connection (default `true`). Turn off behind a pooler that does not keep prepared statements across
   * transactions, such as PgBouncer in transaction mode before 1.21.
   */
  readonly preparedStatements?: boolean
}

/**
 * Everything building the Postgres event store can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type MakeError = PgSchema.InvalidSchemaName | PgSchema.MigrationFailed | Projection.SetupFailed

/**
 * The first `limit` rows as a page; a row beyond them means more follow. A stream's versions are
 * dense (1, 2, 3, … with none ever removed), so the rows read from `from` on are versions
 * `from + index`: reading them would only cost a bigint to parse per row.
 */
const toPayloadPage = (rows: ReadonlyArray<Payload>, from: number, limit: number): EventStore.PayloadPage => {
  const count = Math.min(rows.length, limit)
  const streamVersions: Array<number> = new Array(count)
  const types: Array<string> = new Array(count)
  const schemaVersions: Array<number> = new Array(count)
  const data: Array<unknown> = new Array(count)
  for (let index = 0; index < count; index++) {
    const row = rows[index]
    streamVersions[index] = from + index
    types[index] = row.type
    schemaVersions[index] = row.schemaVersion
    data[index] = row.data
  }
  return { streamVersions, types, schemaVersions, data, more: rows.length > limit }
}

interface AppendRow {
  readonly outcome: "appended" | "repeat" | "empty" | "conflict" | "duplicate"
  readonly version: string
  readonly last_position: string
  readonly last_transaction_id: string
  readonly detail: string | null
}

const expectedKind = (expected: ExpectedVersion.ExpectedVersion): [kind: string, version: number] => {
  switch (expected._tag) {
    case "Any":
      return ["any", 0]
    case "NoStream":
      return ["no_stream", 0]
    case "StreamExists":
      return ["stream_exists", 0]
    case "Exact":
      return ["exact", expected.version]
  }
}

type AppendFailure = EventStore.ConcurrencyConflict | EventStore.DuplicateEventId

const isUniqueViolation = (error: SqlError): boolean =>
  typeof error.cause === "object" && error.cause !== null && "code" in error.cause && error.cause.code === "23505"

/** A filter's names once each: a name listed twice must not read its events twice. */
const distinct = (names: ReadonlyArray<string>): ReadonlyArray<string> => [...new Set(names)]

const isUniqueSqlError = (error: unknown): error is SqlError => error instanceof SqlError && isUniqueViolation(error)

/** An `append_events` outcome as the append's result or typed failure. */
const toAppendResult = (
  streamId: string,
  expected: ExpectedVersion.ExpectedVersion,
  row: AppendRow
): Effect.Effect<EventStore.AppendResult, AppendFailure> => {
  const version = Number(row.version)
  switch (row.outcome) {
    case "conflict":
      return Effect.fail(new EventStore.ConcurrencyConflict({ streamId, expected, actual: version }))
    case "duplicate": {
      const [eventId, reason] = (row.detail ?? "|").split(/\|(.*)/s)
      return Effect.fail(new EventStore.DuplicateEventId({ streamId, eventId, reason }))
    }
    default: {
      const position = Position.make(BigInt(row.last_transaction_id), BigInt(row.last_position))
      return Effect.succeed({
        nextExpectedVersion: version,
        lastGlobalPosition: position.globalPosition,
        position,
        written: row.outcome === "appended"
      })
    }
  }
}

interface HeldBackRow {
  readonly transaction_id: string
  readonly events: string
  readonly since_ms: string
  readonly held_ms: string
  readonly pid: string | null
  readonly application_name: string | null
  readonly usename: string | null
  readonly datname: string | null
  readonly state: string | null
  readonly xact_start_ms: string | null
}

const heldBackOf = (row: HeldBackRow): EventStore.HeldBack => ({
  transactionId: BigInt(row.transaction_id),
  events: Number(row.events),
  // Whole milliseconds (truncated in the query, as node-postgres truncates timestamps).
  since: new Date(Number(row.since_ms)),
  heldFor: Duration.millis(Number(row.held_ms)),
  blocker: row.pid === null ? Option.none() : Option.some({
    pid: Number(row.pid),
    applicationName: row.application_name ?? "",
    user: Option.fromNullable(row.usename),
    database: Option.fromNullable(row.datname),
    state: Option.fromNullable(row.state),
    transactionStart: Option.map(Option.fromNullable(row.xact_start_ms), (ms) => new Date(Number(ms)))
  })
})

/**
 * Builds the backend of the Postgres event store over the `SqlClient`/`PgClient` in the context.
 * Runs migrations first unless `migrate: false`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeBackend = <const Inline extends ReadonlyArray<Projection.Any> = readonly []>(
  options: Options<Inline> = {}
): Effect.Effect<
  EventStore.Backend,
  MakeError,
  PgClient.PgClient | SqlClient.SqlClient | Projection.Context<Inline[number]> | Scope.Scope
> =>
  Effect.gen(function*() {
    const schema = yield* PgSchema.resolve(options.schema)
    if (options.migrate ?? true) yield* PgSchema.migrate(schema)
    const pg = yield* PgClient.PgClient
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const { query, read } = yield* makeRunner({ prepare: options.preparedStatements ?? true })
    const s = sql(schema.name)
    const pollInterval = Duration.decode(options.pollInterval ?? "1 second")
    const readBatchSize = Math.max(1, options.readBatchSize ?? 1_000)
    const target = `postgres schema ${schema.name}`
    const unavailable = (operation: string) => (cause: unknown) =>
      new EventStore.EventStoreUnavailable({ operation, target, cause })
    // A lock wait past append_events' lock_timeout (PgSchema.appendLockTimeout) rolled the append back.
    const appendUnavailable = (streamId: string, error: SqlError) =>
      unavailable("append")(
        isLockTimeout(error)
          ? new SqlError({
            cause: error.cause,
            message: `stream ${
              JSON.stringify(streamId)
            } stayed locked by another transaction past the append's lock_timeout (SQLSTATE 55P03); nothing was written, the append can be retried`
          })
          : error
      )

    // Data PostgreSQL refuses (SQLSTATE class 22 or 54) is the caller's input, not an outage:
    // retrying it would fail the same way. The store cannot tell which event of several it was.
    const appendFailure = (
      streamId: string,
      events: ReadonlyArray<EventStore.SerializedEvent>,
      error: SqlError
    ): EventStore.InvalidEvent | EventStore.EventStoreUnavailable => {
      const sqlState = sqlStateOf(error)
      if (!isDataRefusal(sqlState)) return appendUnavailable(streamId, error)
      const said = error.cause instanceof Error ? error.cause.message : error.message
      const which = events.length === 1 ? "" : `, without saying which of the append's ${events.length} events`
      return new EventStore.InvalidEvent({
        streamId,
        index: events.length === 1 ? 0 : -1,
        reason: `PostgreSQL refused its data (SQLSTATE ${sqlState}: ${said})${which}`
      })
    }

    // The statements that run on every command and every page are written out rather than
    // built with the sql template: each runs as is, with nothing to compile per call (the schema
    // name is a validated identifier).
    const eventsTable = `"${schema.name}".events`
    const appendText =
      `SELECT outcome, version::text AS version, last_position::text AS last_position, last_transaction_id, detail
      FROM "${schema.name}".append_events($1, $2, $3, $4::uuid[], $5::text[], $6::integer[], $7::jsonb[], $8::jsonb[], $9)`
    const streamVersionText = `SELECT version::text AS version FROM "${schema.name}".streams WHERE stream_id = $1`
    const streamRange = `WHERE stream_id = $1 AND stream_version >= $2 AND stream_version <= $3`
    const readForwards = eventStatement((columns) =>
      `SELECT ${columns} FROM ${eventsTable} ${streamRange} ORDER BY stream_version ASC LIMIT $4`
    )
    const readBackwards = eventStatement((columns) =>
      `SELECT ${columns} FROM ${eventsTable} ${streamRange} ORDER BY stream_version DESC LIMIT $4`
    )
    const readPayloads = payloadStatement((columns) =>
      `SELECT ${columns} FROM ${eventsTable} ${streamRange} ORDER BY stream_version ASC LIMIT $4`
    )
    /**
     * The log after a position (`$1`, `$2`) that a filter selects (its names from `$3` on): the
     * conditions, and the names to bind after the position.
     */
    const afterPositionWhere = (filter: EventStore.EventFilter) => {
      const names: Array<ReadonlyArray<string>> = []
      let conditions = "(transaction_id, global_position) > ($1::xid8, $2::bigint)"
      if (filter.categories !== undefined) {
        names.push(filter.categories)
        conditions += ` AND category = ANY($${2 + names.length}::text[])`
      }
      if (filter.types !== undefined) {
        names.push(filter.types)
        conditions += ` AND type = ANY($${2 + names.length}::text[])`
      }
      return { conditions, names }
    }

    const callAppend = <A, E>(
      streamId: string,
      events: ReadonlyArray<EventStore.SerializedEvent>,
      expected: ExpectedVersion.ExpectedVersion,
      complete: Complete<AppendRow, A, E>,
      span?: Tracer.Span
    ): Effect.Effect<A, E> => {
      const [kind, version] = expectedKind(expected)
      return query(
        appendText,
        [
          streamId,
          kind,
          version,
          events.map((e) => e.eventId),
          events.map((e) => e.type),
          events.map((e) => e.schemaVersion),
          events.map((e) => e.data),
          events.map((e) => e.metadata),
          schema.channel
        ],
        complete,
        span
      )
    }

    const appendAlone: EventStore.Backend["append"] = (streamId, events, expected, span) => {
      // The outcome is read in the step that runs the statement. A unique violation means a
      // concurrent append recorded one of these event ids first; once it has committed, trying
      // again tells a repeat from a duplicate.
      const attempt = (
        retries: number
      ): Effect.Effect<
        EventStore.AppendResult,
        AppendFailure | EventStore.InvalidEvent | EventStore.EventStoreUnavailable
      > =>
        callAppend(streamId, events, expected, (error, rows: ReadonlyArray<AppendRow>) =>
          error === undefined
            ? toAppendResult(streamId, expected, rows[0])
            : retries > 0 && isUniqueViolation(error)
            ? attempt(retries - 1)
            : Effect.fail(appendFailure(streamId, events, error)), span)
      return attempt(2)
    }

    /** The append and the inline projections' handlers in one transaction. */
    const appendWithProjections = (
      project: (
        appended: ReadonlyArray<RecordedEvent.RecordedEvent>
      ) => Effect.Effect<void, Projection.InlineProjectionFailed>
    ): EventStore.Backend["append"] =>
    (streamId, events, expected, span) => {
      // The transaction's, the statements' and the handlers' spans under the append's.
      const attempt = Effect.withParentSpan(
        sql.withTransaction(
          Effect.tap(callAppend(streamId, events, expected, rowsOrFailure), ([row]) =>
            row.outcome === "appended"
              // The recorded envelopes (positions, transaction id, recorded_at), read back in the transaction.
              ? Effect.flatMap(
                read(
                  readForwards,
                  [streamId, Number(row.version) - events.length + 1, Number(row.version), events.length],
                  eventReader,
                  rowsOrFailure
                ),
                project
              )
              : Effect.void)
        ),
        span
      )
      // As in appendAlone: a concurrent append of the same ids; the whole transaction runs again.
      const retried = Effect.catchIf(attempt, isUniqueSqlError, () =>
        Effect.catchIf(attempt, isUniqueSqlError, () =>
          attempt))
      return retried.pipe(
        Effect.catchSomeDefect(sqlErrorDefectAsFailure),
        Effect.mapError((error) =>
          error instanceof SqlError ? appendFailure(streamId, events, error) : error
        ),
        Effect.flatMap(([row]) => toAppendResult(streamId, expected, row))
      )
    }

    const inline = options.inline ?? []
    const context = yield* Effect.context<Projection.Context<Inline[number]>>()
    yield* InlineProjection.setupInline(inline, context, sql.withTransaction)
    const append = inline.length === 0
      ? appendAlone
      : appendWithProjections(InlineProjection.makeInline(inline, context))

    /** Events of one stream by version range, as envelopes, or the store failing as `operation`. */
    const readRange = (
      statement: ReadStatement,
      streamId: string,
      from: number,
      to: number,
      limit: number,
      operation: string
    ): Effect.Effect<ReadonlyArray<RecordedEvent.RecordedEvent>, EventStore.EventStoreUnavailable> =>
      read(statement, [streamId, from, to, limit], eventReader, (error, events) =>
        error === undefined ? Effect.succeed(events) : Effect.fail(unavailable(operation)(error)))

    const readStream: EventStore.Backend["readStream"] = (streamId, { direction, from, limit, to }) =>
      Stream.paginateChunkEffect({ from, to, remaining: limit }, (cursor) => {
        const batch = Math.min(readBatchSize, cursor.remaining)
        const statement = direction === "forwards" ? readForwards : readBackwards
        return Effect.map(readRange(statement, streamId, cursor.from, cursor.to, batch, "readStream"), (events) => {
          const remaining = cursor.remaining - events.length
          const last = events[events.length - 1]
          const next = events.length < batch || remaining === 0 || last === undefined
            ? Option.none()
            : Option.some(
              direction === "forwards"
                ? { from: last.streamVersion + 1, to: cursor.to, remaining }
                : { from: cursor.from, to: last.streamVersion - 1, remaining }
            )
          return [Chunk.unsafeFromArray(events), next] as const
        })
      })

    const readStreamBatch: EventStore.Backend["readStreamBatch"] = (streamId, { from, limit, to }) =>
      readRange(readForwards, streamId, from, to, limit, "readStream")

    const readStreamPayloads: EventStore.Backend["readStreamPayloads"] = (streamId, { from, limit, to }, span) => {
      // One row past the page tells whether more follow, without a trailing empty read.
      const values = [streamId, from, to, Math.min(limit, Number.MAX_SAFE_INTEGER - 1) + 1]
      return read(readPayloads, values, payloadReader, (error, rows) =>
        error === undefined
          ? Effect.succeed(toPayloadPage(rows, from, limit))
          : Effect.fail(unavailable("readStream")(error)), span)
    }

    /**
     * Up to `limit` committed events after `after`, in log order, never past an open transaction,
     * or the store failing as `operation`. With fresh statistics the planner walks the log-order
     * index and filters; without them (a table just bulk-loaded, before autovacuum's ANALYZE) a
     * filtered page may sort every matching event left in the log.
     */
    const readAfter = (
      after: Position.Position,
      limit: number,
      filter: EventStore.EventFilter,
      operation: string
    ): Effect.Effect<ReadonlyArray<RecordedEvent.RecordedEvent>, EventStore.EventStoreUnavailable> => {
      const { conditions, names } = afterPositionWhere(filter)
      const statement = eventStatement((columns) =>
        `SELECT ${columns} FROM ${eventsTable}
        WHERE ${conditions} AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY transaction_id, global_position LIMIT $${3 + names.length}`
      )
      const values = [String(after.transactionId), String(after.globalPosition), ...names, limit]
      return read(statement, values, eventReader, (error, events) =>
        error === undefined ? Effect.succeed(events) : Effect.fail(unavailable(operation)(error)))
    }

    const readAll: EventStore.Backend["readAll"] = ({ after, filter, limit }) =>
      Stream.paginateChunkEffect({ after, remaining: limit }, (cursor) => {
        const batch = Math.min(readBatchSize, cursor.remaining)
        return Effect.map(readAfter(cursor.after, batch, filter, "readAll"), (events) => {
          const remaining = cursor.remaining - events.length
          const last = events[events.length - 1]
          const next = events.length < batch || remaining === 0 || last === undefined
            ? Option.none()
            : Option.some({ after: Position.of(last), remaining })
          return [Chunk.unsafeFromArray(events), next] as const
        })
      })

    // Bumped on every notification (and on every (re)connection of the listener).
    const wakeups = yield* SubscriptionRef.make(0)
    const bump = SubscriptionRef.update(wakeups, (n) =>
      n + 1)
    const listen = Stream.runForEach(pg.listen(schema.channel), () =>
      bump).pipe(
        Effect.zipLeft(bump),
        Effect.tapErrorCause((cause) =>
          Effect.logDebug("Facta: LISTEN connection lost; polling until it is back", cause)
        ),
        Effect.retry(Schedule.spaced("1 second")),
        Effect.forever
      )
    // Held while some subscription runs (and a second after the last one ends), in the
    // background so that no subscriber waits for it: the lease, then a wake-up (subscribers read
    // again, in case an append committed unnotified before the lease), then LISTEN. Until then,
    // and whenever the LISTEN connection is lost, subscribers poll.
    const listening = yield* RcRef.make({
      acquire: Effect.asVoid(
        Effect.forkScoped(
          Effect.interruptible(holdListenerLease(sql, schema.name).pipe(Effect.zipRight(bump), Effect.zipRight(listen)))
        )
      ),
      idleTimeToLive: Duration.seconds(1)
    })

    const subscribe: EventStore.Backend["subscribe"] = ({ after, batchSize, filter }) =>
      Stream.unwrapScoped(
        Effect.as(
          RcRef.get(listening),
          Subscription.catchUpThenLive({
            after,
            batchSize,
            currentToken: SubscriptionRef.get(wakeups),
            readBatch: (position, limit) =>
              readAfter(position, limit, filter, "subscribe"),
            waitForAppend: (seen) =>
              Effect.race(
                wakeups.changes.pipe(
                  Stream.filter((n) =>
                    n > seen
                  ),
                  Stream.take(1),
                  Stream.runDrain
                ),
                Effect.sleep(pollInterval)
              )
          })
        )
      )

    const streamVersion: EventStore.Backend["streamVersion"] = (streamId, span) =>
      query(streamVersionText, [streamId], (error, rows: ReadonlyArray<{ readonly version: string }>) =>
        error === undefined
          ? Effect.succeed(rows.length === 0 ? 0 : Number(rows[0].version))
          : Effect.fail(unavailable("streamVersion")(error)), span)

    const locate: EventStore.Backend["locate"] = (eventId) =>
      sql<{
        readonly stream_id: string
        readonly stream_version: string
        readonly transaction_id: string
        readonly global_position: string
      }>`SELECT stream_id, stream_version::text AS stream_version, transaction_id::text AS transaction_id,
                global_position::text AS global_position
           FROM ${s}.events WHERE event_id = ${eventId}::uuid`.pipe(
        Effect.map((rows) =>
          Option.map(Option.fromNullable(rows[0]), (row) => ({
            streamId: row.stream_id as StreamId.StreamId,
            streamVersion: Number(row.stream_version),
            position: Position.make(BigInt(row.transaction_id), BigInt(row.global_position))
          }))
        ),
        Effect.mapError(unavailable("locate"))
      )

    // Committed events only (this statement's snapshot), whether or not a reader can pass them yet.
    // One branch per category (or, without categories, per type), each with its name as a bound
    // value: the planner then sees how common that name is, and takes the name's own index for a
    // rare or absent one instead of walking back through the whole log.
    const head: EventStore.Backend["head"] = (filter) => {
      const last = (condition: Fragment) =>
        sql`(SELECT transaction_id, global_position FROM ${s}.events WHERE ${condition}
              ORDER BY transaction_id DESC, global_position DESC LIMIT 1)`
      const types = filter.types === undefined ? sql.literal("") : sql`AND type = ANY(${filter.types}::text[])`
      const branches = filter.categories !== undefined
        ? distinct(filter.categories).map((category) =>
          last(sql`category = ${category} ${types}`)
        )
        : filter.types !== undefined
        ? distinct(filter.types).map((type) =>
          last(sql`type = ${type}`)
        )
        : [last(sql`true`)]
      const query = branches.length === 0
        ? sql`SELECT NULL::xid8 AS transaction_id, NULL::bigint AS global_position WHERE false`
        : sql.join(" UNION ALL ", false)(branches)
      return sql<{ readonly transaction_id: string; readonly global_position: string }>`
        SELECT transaction_id::text AS transaction_id, global_position::text AS global_position FROM (${query}) AS heads
         ORDER BY heads.transaction_id DESC, heads.global_position DESC LIMIT 1`.pipe(
        Effect.map((rows) =>
          Option.map(
            Option.fromNullable(rows[0]),
            (row) =>
              Position.make(BigInt(row.transaction_id), BigInt(row.global_position))
          )
        ),
        Effect.mapError(unavailable("head"))
      )
    }

    const countAfter: EventStore.Backend["countAfter"] = (after, filter) => {
      const { conditions, names } = afterPositionWhere(filter)
      return query(
        `SELECT count(*)::text AS count FROM ${eventsTable} WHERE ${conditions}`,
        [String(after.transactionId), String(after.globalPosition), ...names],
        (error, rows: ReadonlyArray<{ readonly count: string }>) =>
          error === undefined
            ? Effect.succeed(Number(rows[0]?.count ?? 0))
            : Effect.fail(unavailable("countAfter")(error))
      )
    }

    // Committed events at or above the xmin bound are what `readAfter` may not pass yet; the
    // session whose transaction id is the bound holds them (none found: a prepared transaction,
    // or one that ended meanwhile). Times are the server's, so a skewed client clock cannot
    // make delivery look held back, or not.
    const heldBack: EventStore.Backend["heldBack"] = (filter) => {
      const categories = filter.categories === undefined
        ? sql.literal("")
        : sql`AND category = ANY(${filter.categories}::text[])`
      const types = filter.types === undefined ? sql.literal("") : sql`AND type = ANY(${filter.types}::text[])`
      return sql<HeldBackRow>`
        SELECT bound.xmin::text AS transaction_id, held.events::text AS events,
               floor(extract(epoch FROM held.since) * 1000)::bigint::text AS since_ms,
               greatest(0, floor(extract(epoch FROM clock_timestamp() - held.since) * 1000))::bigint::text AS held_ms,
               blocker.pid::text AS pid, blocker.application_name, blocker.usename::text AS usename,
               blocker.datname::text AS datname, blocker.state,
               floor(extract(epoch FROM blocker.xact_start) * 1000)::bigint::text AS xact_start_ms
          FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin) AS bound
         CROSS JOIN LATERAL (
               SELECT count(*) AS events, min(recorded_at) AS since FROM ${s}.events
                WHERE transaction_id >= bound.xmin ${categories} ${types}) AS held
          LEFT JOIN LATERAL (
               SELECT pid, application_name, usename, datname, state, xact_start FROM pg_stat_activity
                WHERE backend_xid = bound.xmin::xid ORDER BY leader_pid IS NOT NULL, pid LIMIT 1) AS blocker ON true
         WHERE held.events > 0`.pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), heldBackOf)),
        Effect.mapError(unavailable("heldBack"))
      )
    }

    return {
      append,
      readStream,
      readStreamBatch,
      readStreamPayloads,
      readAll,
      subscribe,
      streamVersion,
      locate,
      head,
      countAfter,
      heldBack
    }
  })

/**
 * Builds the Postgres `EventStore` service (see {@link makeBackend}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <const Inline extends ReadonlyArray<Projection.Any> = readonly []>(
  options: Options<Inline> = {}
): Effect.Effect<
  EventStore.EventStoreShape,
  MakeError,
  PgClient.PgClient | SqlClient.SqlClient | Projection.Context<Inline[number]> | Scope.Scope
> => Effect.map(makeBackend(options), (backend) => EventStore.make(backend, options))

/**
 * A layer providing the Postgres `EventStore`, over the `PgClient` in the context. With `inline`
 * projections it also needs the services their handlers use (usually just the `SqlClient`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <const Inline extends ReadonlyArray<Projection.Any> = readonly []>(
  options: Options<Inline> = {}
): Layer.Layer<
  EventStore.EventStore,
  MakeError,
  PgClient.PgClient | SqlClient.SqlClient | Projection.Context<Inline[number]>
> => Layer.scoped(EventStore.EventStore, make(options))
