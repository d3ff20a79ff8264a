/**
 * The baseline: the same append written by hand with node-postgres, as a transaction of plain
 * parameterized statements — BEGIN; version check and bump on `streams`; one multi-row INSERT
 * of the events (an `unnest` of arrays) that also calls pg_notify; COMMIT — over tables and
 * indexes equivalent to Facta's, in a schema of its own.
 */
import pg from "pg"
import type { Contender, HotAppend, PlannedAppend } from "./Contender.js"
import { forEachConcurrently, handEvolve, handInitial } from "./Contender.js"

const ddl = (s: string) => [
  `CREATE SCHEMA ${s}`,
  `CREATE TABLE ${s}.streams (
     stream_id text PRIMARY KEY,
     version bigint NOT NULL CHECK (version >= 0),
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE TABLE ${s}.events (
     global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
     stream_id text NOT NULL,
     stream_version bigint NOT NULL CHECK (stream_version >= 1),
     category text GENERATED ALWAYS AS (split_part(stream_id, '-', 1)) STORED,
     event_id uuid NOT NULL UNIQUE,
     type text NOT NULL,
     schema_version integer NOT NULL CHECK (schema_version >= 1),
     data jsonb NOT NULL,
     metadata jsonb NOT NULL,
     recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     UNIQUE (stream_id, stream_version)
   )`,
  `CREATE INDEX events_log_order ON ${s}.events (transaction_id, global_position)`,
  `CREATE INDEX events_category_log_order ON ${s}.events (category, transaction_id, global_position)`,
  `CREATE INDEX events_type_log_order ON ${s}.events (type, transaction_id, global_position)`
]

/** The hand-written store in `schema` (created here), over a 16-connection `pg.Pool`. */
export const makeRawPg = async (url: string, schema: string): Promise<Contender> => {
  const pool = new pg.Pool({ connectionString: url, max: 16 })
  pool.on("error", () => undefined)
  const s = pg.escapeIdentifier(schema)
  const channel = `${schema}_events`
  for (const statement of ddl(s)) await pool.query(statement)

  const createStream =
    `INSERT INTO ${s}.streams (stream_id, version) VALUES ($1, $2) ON CONFLICT (stream_id) DO NOTHING`
  const bumpStream = `UPDATE ${s}.streams SET version = $3, updated_at = now() WHERE stream_id = $1 AND version = $2`
  const insertEvents = `
    WITH inserted AS (
      INSERT INTO ${s}.events (stream_id, stream_version, event_id, type, schema_version, data, metadata)
      SELECT $1, $2 + u.ord, u.event_id, u.type, u.schema_version, u.data, u.metadata
        FROM unnest($3::uuid[], $4::text[], $5::integer[], $6::jsonb[], $7::jsonb[])
             WITH ORDINALITY AS u(event_id, type, schema_version, data, metadata, ord)
       ORDER BY u.ord
      RETURNING global_position
    )
    SELECT pg_notify($8, max(global_position)::text) FROM inserted`
  const streamVersion = `SELECT version FROM ${s}.streams WHERE stream_id = $1`
  const readStream =
    `SELECT stream_version, type, schema_version, data FROM ${s}.events WHERE stream_id = $1 ORDER BY stream_version`
  const readPage = `
    SELECT global_position, transaction_id, stream_id, stream_version, event_id, type, schema_version, data, metadata, recorded_at
      FROM ${s}.events
     WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
       AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY transaction_id, global_position
     LIMIT $3`

  /** One append transaction: `false` when the stream was not at `expected` (nothing written). */
  const append = async (append: PlannedAppend): Promise<boolean> => {
    const { events, expected, streamId } = append
    const client = await pool.connect()
    try {
      await client.query("BEGIN")
      const bumped = expected === 0
        ? await client.query(createStream, [streamId, events.length])
        : await client.query(bumpStream, [streamId, expected, expected + events.length])
      if (bumped.rowCount !== 1) {
        await client.query("ROLLBACK")
        return false
      }
      await client.query(insertEvents, [
        streamId,
        expected,
        events.map((event) => event.eventId),
        events.map((event) => event.type),
        events.map((event) => event.schemaVersion),
        events.map((event) => JSON.stringify(event.data)),
        events.map((event) => JSON.stringify(event.metadata)),
        channel
      ])
      await client.query("COMMIT")
      return true
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined)
      throw error
    } finally {
      client.release()
    }
  }

  const appendAll = (plan: ReadonlyArray<PlannedAppend>, concurrency: number) =>
    forEachConcurrently(plan, concurrency, async (planned) => {
      if (!(await append(planned))) throw new Error(`pg: unexpected conflict on ${planned.streamId}`)
    })

  const appendHot = async (appends: ReadonlyArray<HotAppend>, concurrency: number) => {
    let conflicts = 0
    await forEachConcurrently(appends, concurrency, async ({ event, streamId }) => {
      for (;;) {
        const { rows } = await pool.query<{ version: string }>(streamVersion, [streamId])
        const expected = rows.length === 0 ? 0 : Number(rows[0].version)
        if (await append({ streamId, expected, events: [event] })) return
        conflicts++
      }
    })
    return { attempts: appends.length + conflicts, conflicts }
  }

  const loadBalance = async (streamId: string) => {
    const { rows } = await pool.query<{ type: string; data: unknown }>(readStream, [streamId])
    let state = handInitial
    for (const row of rows) state = handEvolve(state, row.type, row.data)
    return state.open ? state.balanceCents : Number.NaN
  }

  const readAll = async (pageSize: number) => {
    let count = 0
    let after: readonly [transactionId: string, globalPosition: string] = ["0", "0"]
    for (;;) {
      const { rows } = await pool.query<{ transaction_id: string; global_position: string }>(
        readPage,
        [...after, pageSize]
      )
      count += rows.length
      if (rows.length < pageSize) return count
      const last = rows[rows.length - 1]
      after = [last.transaction_id, last.global_position]
    }
  }

  const settle = async () => void (await pool.query(`VACUUM (ANALYZE) ${s}.events, ${s}.streams`))

  const close = async () => {
    await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`)
    await pool.end()
  }

  return { name: "pg", appendAll, appendHot, loadBalance, readAll, settle, close }
}
