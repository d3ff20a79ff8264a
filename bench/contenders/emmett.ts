/**
 * Emmett (`@event-driven-io/emmett-postgresql`) doing the same work: `appendToStream` with an
 * expected version, `aggregateStream` with a hand-written evolve, and its `readMessagesBatch`
 * (what its consumers poll with) to read the whole log. Its migrations look its functions up by name
 * across the whole database (pg_proc, any schema), so it gets a throwaway database of its own on
 * the same server rather than a schema.
 */
import { dumbo } from "@event-driven-io/dumbo"
import { type Event, isExpectedVersionConflictError } from "@event-driven-io/emmett"
import { getPostgreSQLEventStore, readMessagesBatch } from "@event-driven-io/emmett-postgresql"
import pg from "pg"
import type { BenchEvent, Contender, HotAppend, PlannedAppend } from "./Contender.js"
import { forEachConcurrently, type HandBalance, handEvolve, handInitial } from "./Contender.js"

type StoredEvent = Event<string, Record<string, unknown>, Record<string, unknown>>

const toEmmett = (event: BenchEvent): StoredEvent => ({ type: event.type, data: event.data, metadata: event.metadata })

// Emmett's driver (dumbo) replaces node-postgres's global parsers of int8 (to BigInt) and json/
// jsonb (JSON.parse with a BigInt reviver) when its first pool is made. Those globals would slow
// and change the other contenders in this process, so they are put back, and Emmett's connections
// get its parsers through their own `types`.
const replacedTypes = [20, 114, 3802] as const
const stockParsers = new Map(replacedTypes.map((oid) => [oid, pg.types.getTypeParser(oid, "text")]))
const emmettParsers = new Map<number, (value: string) => unknown>()
const emmettTypes = {
  getTypeParser: (oid: number, format?: "text" | "binary") =>
    (format !== "binary" ? emmettParsers.get(oid) : undefined) ?? pg.types.getTypeParser(oid, format)
} as pg.CustomTypesConfig

/** The same server's URL for another database. */
const withDatabase = (url: string, database: string): string => {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

/** Runs `statement` on a short-lived connection to `url`. */
const runOnce = async (url: string, statement: string): Promise<void> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

/** Emmett's event store in a new database `database` (migrated by Emmett), over a 16-connection `pg.Pool`. */
export const makeEmmett = async (url: string, database: string): Promise<Contender> => {
  await runOnce(url, `CREATE DATABASE ${pg.escapeIdentifier(database)}`)
  const emmettUrl = withDatabase(url, database)
  const pool = new pg.Pool({ connectionString: emmettUrl, max: 16, types: emmettTypes })
  pool.on("error", () => undefined)
  const dropDatabase = async () => {
    if (!pool.ended) await pool.end()
    await runOnce(url, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`)
  }
  const driver = dumbo({ connectionString: emmettUrl, pool })
  const store = getPostgreSQLEventStore(emmettUrl, { connectionOptions: { dumbo: driver } })
  for (const oid of replacedTypes) {
    emmettParsers.set(oid, pg.types.getTypeParser(oid, "text"))
    pg.types.setTypeParser(oid, "text", stockParsers.get(oid)!)
  }
  try {
    await store.schema.migrate()
  } catch (error) {
    await dropDatabase().catch(() => undefined)
    throw error
  }

  const append = (append: PlannedAppend) =>
    store.appendToStream(append.streamId, append.events.map(toEmmett), {
      expectedStreamVersion: BigInt(append.expected)
    })

  const appendHot = async (appends: ReadonlyArray<HotAppend>, concurrency: number) => {
    let conflicts = 0
    // Emmett's store has no version lookup short of reading the stream: ask its streams table.
    const streamVersion =
      `SELECT stream_position FROM emt_streams WHERE stream_id = $1 AND partition = 'emt:default' AND is_archived = FALSE`
    await forEachConcurrently(appends, concurrency, async ({ event, streamId }) => {
      for (;;) {
        const { rows } = await pool.query<{ stream_position: bigint }>(streamVersion, [streamId])
        const expected = rows.length === 0 ? 0 : Number(rows[0].stream_position)
        try {
          await append({ streamId, expected, events: [event] })
          return
        } catch (error) {
          if (!isExpectedVersionConflictError(error)) throw error
          conflicts++
        }
      }
    })
    return { attempts: appends.length + conflicts, conflicts }
  }

  const loadBalance = async (streamId: string) => {
    const { state } = await store.aggregateStream<HandBalance, StoredEvent>(streamId, {
      initialState: () => handInitial,
      evolve: (state: HandBalance, event: StoredEvent) => handEvolve(state, event.type, event.data)
    })
    return state.open ? state.balanceCents : Number.NaN
  }

  const readAll = async (pageSize: number) => {
    let count = 0
    let after = 0n
    for (;;) {
      const batch = await readMessagesBatch(driver.execute, { after, batchSize: pageSize })
      count += batch.messages.length
      if (!batch.areMessagesLeft) return count
      after = batch.currentGlobalPosition
    }
  }

  // Emmett's store has its own database: all of it.
  const settle = async () => void (await pool.query("VACUUM (ANALYZE)"))

  const close = async () => {
    await store.close()
    await dropDatabase()
  }

  return {
    name: "Emmett",
    appendAll: (plan, concurrency) => forEachConcurrently(plan, concurrency, append),
    appendHot,
    loadBalance,
    readAll,
    settle,
    close
  }
}
