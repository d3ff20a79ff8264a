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
import { Config, ConfigError, Data, Duration, Effect, Layer, Redacted } from "effect"
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
  /** Where it tried to connect (`host:port/database`), or what is wrong with the URL; never the credentials. */
  readonly target: string
  /** Why connecting failed: the first connection's error, or why the URL cannot be used. */
  readonly cause: unknown
}> {
  /** Names the target, then why it could not be reached. */
  override get message(): string {
    const detail = describeCause(this.cause)
    return `Cannot reach PostgreSQL at ${this.target}${detail === "" ? "" : `: ${detail}`}`
  }
}

const describeCause = (cause: unknown): string => {
  let current: unknown = cause
  const parts: Array<string> = []
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    if ("message" in current && typeof current.message === "string" && current.message !== "") {
      parts.push(current.message)
    }
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
 * A connection URL parsed, unless it does not parse or its credentials are not encoded: an "@"
 * after the host means the password holds an unencoded "/", "?" or "#", so what reads as host,
 * port and database are pieces of the password, not to be shown (nor dialled).
 */
const parseUrl = (url: string): URL | "unparseable" | "unencoded credentials" => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return "unparseable"
  }
  return `${parsed.pathname}${parsed.search}${parsed.hash}`.includes("@") ? "unencoded credentials" : parsed
}

const unencodedCredentials =
  "its credentials hold an unencoded \"/\", \"?\" or \"#\" (percent-encode them: %2F, %3F, %23)"

/** Why `layerConfig` cannot use a URL, without quoting it; `undefined` when it can. */
const configuredUrlProblem = (url: string): string | undefined => {
  const parsed = parseUrl(url)
  if (parsed === "unparseable") return "it does not parse as a URL (postgres://user:password@host:port/database)"
  if (parsed === "unencoded credentials") return unencodedCredentials
  return parsed.protocol === "postgres:" || parsed.protocol === "postgresql:"
    ? undefined
    : "it is not a postgres:// or postgresql:// URL"
}

/**
 * A safe description of a connection URL: host, port and database, never the credentials (nor
 * the query, where a `password` parameter may be). A URL whose credentials are not encoded, so
 * that parts of the password would read as host, port or database, is not described.
 *
 * @since 0.1.0
 * @category utils
 */
export const describeUrl = (url: string | Redacted.Redacted<string>): string => {
  const parsed = parseUrl(Redacted.isRedacted(url) ? Redacted.value(url) : url)
  return parsed === "unparseable"
    ? "an unparseable DATABASE_URL"
    : parsed === "unencoded credentials"
    ? "a DATABASE_URL with unencoded credentials"
    : `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`
}

/**
 * The options of {@link layerFromUrl} besides the connection URL and the inline projections.
 *
 * @since 0.1.0
 * @category models
 */
export type UrlOptions<Inline extends ReadonlyArray<Projection.Any> = ReadonlyArray<Projection.Any>> =
  & PgEventStore.Options<Inline>
  & {
    /** The most connections the pool opens (default 16). */
    readonly maxConnections?: number
    /** How long connecting may take, first connection included (default 5 seconds). */
    readonly connectTimeout?: Duration.DurationInput
  }

/**
 * The stores and their `PgClient`, from a connection URL (plain or `Redacted`), over a `PgPool`
 * (so the event store's hottest statements skip `@effect/sql`'s per-statement overhead outside
 * transactions). Fails with `DatabaseUnreachable` naming host, port and database (never the
 * credentials) when the server cannot be reached or the URL cannot be used.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromUrl = <const Inline extends ReadonlyArray<Projection.Any> = readonly []>(
  url: string | Redacted.Redacted<string>,
  options: UrlOptions<Inline> = {}
): Layer.Layer<
  Stores | PgPool.PgPool | PgClient.PgClient | SqlClient.SqlClient,
  PgEventStore.MakeError | DatabaseUnreachable,
  Exclude<Projection.Context<Inline[number]>, PgPool.PgPool | PgClient.PgClient | SqlClient.SqlClient>
> => {
  const text = Redacted.isRedacted(url) ? Redacted.value(url) : url
  const target = describeUrl(text)
  const pool = PgPool.layer({
    url: text,
    maxConnections: options.maxConnections ?? 16,
    connectTimeout: options.connectTimeout ?? Duration.seconds(5)
  })
  // Connecting in a span of its own, which names the target as `describeUrl` does.
  const client = Layer.scopedContext(
    // node-postgres would dial what a malformed URL's password reads as: refuse it first.
    (parseUrl(text) === "unencoded credentials"
      ? Effect.fail(
        new DatabaseUnreachable({ target, cause: `the connection URL cannot be used: ${unencodedCredentials}` })
      )
      : Effect.mapError(Layer.build(pool), (cause) => new DatabaseUnreachable({ target, cause }))).pipe(
        Effect.withSpan("PgStore.connect", { attributes: { "facta.database": target }, captureStackTrace: false })
      )
  )
  return layer(options).pipe(Layer.provideMerge(client))
}

/**
 * What {@link layerConfig} reads from `Config`: the plain-data options of {@link layerFromUrl}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigOptions {
  /** The connection URL (default: `Config.redacted("DATABASE_URL")`). */
  readonly url?: Redacted.Redacted<string>
  /** The Postgres schema holding the tables (default `facta`). */
  readonly schema?: string
  /** Run pending migrations when the layer starts (default `true`). */
  readonly migrate?: boolean
  /** How often a caught-up subscription polls when no notification arrives (default 1 second). */
  readonly pollInterval?: Duration.DurationInput
  /** How many events one read round trip fetches (default 1,000). */
  readonly readBatchSize?: number
  /** See `PgEventStore.Options.preparedStatements` (default `true`). */
  readonly preparedStatements?: boolean
  /** The most bytes of JSON an event's payload or metadata may take (see `EventStore.PayloadLimits`; default 1 MiB). */
  readonly maxPayloadBytes?: number
  /** How deeply a payload or metadata may nest (see `EventStore.PayloadLimits`; default 64). */
  readonly maxDepth?: number
  /** The most connections the pool opens (default 16). */
  readonly maxConnections?: number
  /** How long connecting may take, first connection included (default 5 seconds). */
  readonly connectTimeout?: Duration.DurationInput
}

/**
 * {@link layerFromUrl} configured through Effect's `Config`, like `PgClient.layerConfig`: each
 * option is a `Config` (or the whole is one), read with the layer's `ConfigProvider`; the URL
 * is read from `Config.redacted("DATABASE_URL")` unless `url` says otherwise. Inline
 * projections are code, not configuration: they come in `options`. A missing or invalid value
 * (a URL that is not a `postgres://` URL included) fails the layer with a `ConfigError` naming
 * the key, never the URL; an unreachable server with `DatabaseUnreachable`.
 *
 * @example
 * const Stores = PgStore.layerConfig({
 *   schema: Config.string("FACTA_SCHEMA").pipe(Config.withDefault("facta")),
 *   maxConnections: Config.integer("FACTA_MAX_CONNECTIONS").pipe(Config.withDefault(16))
 * }, { inline: [NameIndex] })
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = <const Inline extends ReadonlyArray<Projection.Any> = readonly []>(
  config: Config.Config.Wrap<ConfigOptions> = {},
  options: { readonly inline?: Inline } = {}
): Layer.Layer<
  Stores | PgPool.PgPool | PgClient.PgClient | SqlClient.SqlClient,
  ConfigError.ConfigError | PgEventStore.MakeError | DatabaseUnreachable,
  Exclude<Projection.Context<Inline[number]>, PgPool.PgPool | PgClient.PgClient | SqlClient.SqlClient>
> =>
  Layer.unwrapEffect(
    Effect.gen(function*() {
      // `Config.unwrap` cannot unwrap an empty record (effect 3.22): no option is no Config to read.
      const { url, ...rest } = yield* (!Config.isConfig(config) && Object.keys(config).length === 0
        ? Config.succeed<ConfigOptions>({})
        : Config.unwrap(config))
      const secret = url ?? (yield* Config.redacted("DATABASE_URL"))
      const problem = configuredUrlProblem(Redacted.value(secret))
      if (problem !== undefined) {
        return yield* Effect.fail(
          ConfigError.InvalidData(
            url === undefined ? ["DATABASE_URL"] : [],
            `The PostgreSQL URL cannot be used: ${problem}`
          )
        )
      }
      return layerFromUrl<Inline>(secret, {
        ...rest,
        ...(options.inline === undefined ? {} : { inline: options.inline })
      })
    })
  )
