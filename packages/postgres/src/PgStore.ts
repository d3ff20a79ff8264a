/**
 * Everything Facta stores in PostgreSQL, in one layer: the event store (which migrates the
 * schema first), the snapshot store, the checkpoint store and the projection store (leases and
 * dead letters for `ProjectionRunner`), over one `PgClient`.
 *
 * @since 0.1.0
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { CheckpointStore, Projection, ProjectionStore, SnapshotStore } from "@facta/core"
import type { EventStore } from "@facta/core"
import { Data, Duration, Layer } from "effect"
import * as PgCheckpointStore from "./PgCheckpointStore.js"
import * as PgEventStore from "./PgEventStore.js"
import * as PgPool from "./PgPool.js"
import * as PgProjectionStore from "./PgProjectionStore.js"
import * as PgSnapshotStore from "./PgSnapshotStore.js"

/**
 * The services {@link layer} provides.
 *
 * @since 0.1.0
 * @category models
 */
export type Stores =
  | EventStore.EventStore
  | SnapshotStore.SnapshotStore
  | CheckpointStore.CheckpointStore
  | ProjectionStore.ProjectionStore

/**
 * The database could not be reached when the layer started. Names the target (never the password).
 *
 * @since 0.1.0
 * @category errors
 */
export class DatabaseUnreachable extends Data.TaggedError("DatabaseUnreachable")<{
  readonly target: string
  readonly cause: unknown
}> {
  override get message(): string {
    const detail = describeCause(this.cause)
    return `Cannot reach PostgreSQL at ${this.target}${detail === "" ? "" : `: ${detail}`}`
  }
}

const describeCause = (cause: unknown): string => {
  let current: unknown = cause
  const parts: Array<string> = []
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    if ("message" in current && typeof current.message === "string" && current.message !== "") parts.push(current.message)
    if ("code" in current && typeof current.code === "string") parts.push(`(${current.code})`)
    current = "cause" in current ? current.cause : undefined
  }
  return parts.join(" ")
}

/**
 * The stores over the `PgClient` in the context (with `inline` projections, also the services
 * their handlers need; see `PgEventStore.Options`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <const Inline extends ReadonlyArray<Projection.Any> = readonly []>(
  options: PgEventStore.Options<Inline> = {}
): Layer.Layer<
  Stores,
  PgEventStore.MakeError,
  PgClient.PgClient | SqlClient.SqlClient | Projection.Context<Inline[number]>
> => {
  const schemaOptions = options.schema === undefined ? {} : { schema: options.schema }
  // Building the other stores touches no table; the event store migrates the schema.
  return Layer.mergeAll(
    PgEventStore.layer(options),
    PgSnapshotStore.layer(schemaOptions),
    PgCheckpointStore.layer(schemaOptions),
    PgProjectionStore.layer(schemaOptions)
  )
}

/**
 * A safe description of a connection URL: host, port and database, without credentials.
 *
 * @since 0.1.0
 * @category utils
 */
export const describeUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`
  } catch {
    return "an unparseable DATABASE_URL"
  }
}

/**
 * The stores and their `PgClient`, from a connection URL, over a `PgPool` (so the event store's
 * hottest statements skip `@effect/sql`'s per-statement overhead outside transactions). Fails
 * with `DatabaseUnreachable` naming host, port and database when the server cannot be reached.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromUrl = <const Inline extends ReadonlyArray<Projection.Any> = readonly []>(
  url: string,
  options:
    & PgEventStore.Options<Inline>
    & { readonly maxConnections?: number; readonly connectTimeout?: Duration.DurationInput } = {}
): Layer.Layer<
  Stores | PgPool.PgPool | PgClient.PgClient | SqlClient.SqlClient,
  PgEventStore.MakeError | DatabaseUnreachable,
  Exclude<Projection.Context<Inline[number]>, PgPool.PgPool | PgClient.PgClient | SqlClient.SqlClient>
> => {
  const client = PgPool.layer({
    url,
    maxConnections: options.maxConnections ?? 16,
    connectTimeout: options.connectTimeout ?? Duration.seconds(5)
  }).pipe(
    Layer.catchAll((cause) => Layer.fail(new DatabaseUnreachable({ target: describeUrl(url), cause })))
  )
  return layer(options).pipe(Layer.provideMerge(client))
}
