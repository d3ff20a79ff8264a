/**
 * `PgStore.layerConfig`: the stores configured through Effect's `Config`. The URL is a
 * `Redacted` (from `DATABASE_URL` by default) and its password shows nowhere: not in errors,
 * their causes, spans or logs.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { EventCatalog, EventStore, ExpectedVersion, Projection } from "@facta/core"
import { PgPool, PgStore } from "@facta/postgres"
import { RecordingTracer } from "@facta/testing"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import {
  Cause,
  Config,
  ConfigError,
  ConfigProvider,
  Effect,
  Exit,
  Layer,
  Logger,
  Option,
  Redacted,
  Schema,
  Stream
} from "effect"
import { createServer } from "node:net"
import { connect, dropSchemaOnRelease, query } from "./rawPostgres.js"
import { databaseUrl } from "./support.js"

const password = "Pa55-w0rd-that-must-stay-secret"

/** A local port nothing listens on (it was free a moment ago). */
const closedPort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const provider = (entries: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(entries)))

/** Every string reachable from `value` (own properties, a few levels deep), as one text. */
const describeDeeply = (value: unknown, depth = 0): string =>
  depth > 5 || value === null || value === undefined
    ? ""
    : typeof value === "object"
    ? [
      String(value),
      ...Object.getOwnPropertyNames(value).map((key) =>
        describeDeeply((value as Record<string, unknown>)[key], depth + 1)
      )
    ]
      .join("\n")
    : String(value)

/** Everything a span shows: name, attributes, and how it ended. */
const describeSpans = (spans: ReadonlyArray<RecordingTracer.RecordedSpan>) =>
  spans.map((span) =>
    [
      span.name,
      ...[...span.attributes].map(([key, value]) => `${key}=${String(value)}`),
      span.ended === undefined ? "" : Exit.isFailure(span.ended.exit) ? Cause.pretty(span.ended.exit.cause) : ""
    ].join(" ")
  ).join("\n")

/**
 * Builds `layer` with the config of `entries`, recording spans and log lines, and returns the
 * exit's failure (or `None`) with all of that.
 */
const build = <A, E>(layer: Layer.Layer<A, E>, entries: Record<string, string>) =>
  Effect.gen(function*() {
    const spans: Array<RecordingTracer.RecordedSpan> = []
    const logs: Array<string> = []
    const logger = Logger.make(({ cause, message }) => void logs.push(`${String(message)} ${Cause.pretty(cause)}`))
    const exit = yield* Effect.scoped(Layer.build(layer)).pipe(
      Effect.withConfigProvider(provider(entries)),
      Effect.withTracer(RecordingTracer.make(spans)),
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Effect.exit
    )
    if (Exit.isFailure(exit)) expect(Cause.isDie(exit.cause), Cause.pretty(exit.cause)).toBe(false)
    const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
    const shown = Exit.isFailure(exit)
      ? [
        Cause.pretty(exit.cause),
        ...Option.toArray(failure).flatMap((error) => [String(error), JSON.stringify(error), describeDeeply(error)])
      ]
      : []
    return { failure, shown: [...shown, describeSpans(spans), ...logs].join("\n"), spans }
  })

const Noted = Schema.TaggedStruct("Noted", { text: Schema.String })
const catalog = EventCatalog.make([Noted])

describe("PgStore.layerConfig", () => {
  it.live("reads DATABASE_URL and the options from the ConfigProvider, inline projections from its second argument", () => {
    const schema = uniqueSchemaName()
    const seen: Array<string> = []
    const notes = Projection.make({
      name: "notes",
      catalog,
      setup: Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql`CREATE TABLE IF NOT EXISTS ${sql(schema)}.notes (text text)`
      ),
      handle: (event) =>
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql`INSERT INTO ${sql(schema)}.notes (text) VALUES (${event.data.text})`
        ).pipe(
          Effect.tap(() => void seen.push(event.data.text))
        )
    })
    const stores = PgStore.layerConfig({
      schema: Config.string("FACTA_SCHEMA"),
      maxConnections: Config.integer("FACTA_MAX_CONNECTIONS"),
      pollInterval: Config.duration("FACTA_POLL_INTERVAL")
    }, { inline: [notes] })
    const config = {
      DATABASE_URL: databaseUrl(),
      FACTA_SCHEMA: schema,
      FACTA_MAX_CONNECTIONS: "3",
      FACTA_POLL_INTERVAL: "200 millis"
    }
    return Effect.gen(function*() {
      const spans: Array<RecordingTracer.RecordedSpan> = []
      yield* Effect.gen(function*() {
        const pool = yield* PgPool.PgPool
        expect(pool.options.max).toBe(3)
        const streamId = `note-${crypto.randomUUID()}`
        const event = yield* EventCatalog.toNewEvent(catalog)({ _tag: "Noted", text: "configured" })
        yield* EventStore.append(streamId, [event], ExpectedVersion.NoStream)
        const read = yield* EventStore.readStream(streamId).pipe(Stream.runCollect)
        expect([...read].map((recorded) => recorded.data)).toEqual([{ text: "configured" }])
      }).pipe(
        Effect.provide(Layer.merge(stores, dropSchemaOnRelease(schema))),
        Effect.withConfigProvider(provider(config)),
        Effect.withTracer(RecordingTracer.make(spans))
      )
      expect(seen).toEqual(["configured"])
      // The events and the read model are in the configured schema (dropped since).
      expect(spans.some((span) => span.name === "EventStore.append")).toBe(true)
      const url = new URL(databaseUrl())
      const shown = describeSpans(spans)
      expect(shown).not.toContain(databaseUrl())
      if (url.password !== "") expect(shown).not.toContain(`:${url.password}@`)
      const raw = yield* connect()
      const left = yield* query<{ readonly count: number }>(
        raw,
        `SELECT count(*)::int AS count FROM information_schema.schemata WHERE schema_name = $1`,
        [schema]
      )
      expect(left[0].count).toBe(0)
    }).pipe(Effect.scoped)
  })

  it.live("a missing DATABASE_URL, an option that does not parse or a URL that is not postgres:// fail with a ConfigError", () =>
    Effect.gen(function*() {
      const missing = yield* build(PgStore.layerConfig(), {})
      expect(Option.getOrThrow(missing.failure)).toMatchObject({ _op: "MissingData", path: ["DATABASE_URL"] })
      expect(ConfigError.isConfigError(Option.getOrThrow(missing.failure))).toBe(true)

      const notANumber = yield* build(
        PgStore.layerConfig({ maxConnections: Config.integer("FACTA_MAX_CONNECTIONS") }),
        {
          DATABASE_URL: databaseUrl(),
          FACTA_MAX_CONNECTIONS: "many"
        }
      )
      expect(Option.getOrThrow(notANumber.failure)).toMatchObject({
        _op: "InvalidData",
        path: ["FACTA_MAX_CONNECTIONS"]
      })

      const mysql = yield* build(PgStore.layerConfig(), { DATABASE_URL: `mysql://facta:${password}@127.0.0.1/db` })
      expect(Option.getOrThrow(mysql.failure)).toMatchObject({ _op: "InvalidData", path: ["DATABASE_URL"] })
      expect(String(Option.getOrThrow(mysql.failure))).toContain("is not a postgres:// or postgresql:// URL")
      expect(mysql.shown).not.toContain(password)

      // A "/" in the password, unencoded: part of it would read as host, port and database.
      const unencoded = yield* build(PgStore.layerConfig({ url: Config.redacted("PG_URL") }), {
        PG_URL: `postgres://facta:1234/${password}@127.0.0.1:5432/db`
      })
      expect(Option.getOrThrow(unencoded.failure)).toMatchObject({ _op: "InvalidData" })
      expect(String(Option.getOrThrow(unencoded.failure))).toContain("percent-encode")
      expect(unencoded.shown).not.toContain(password)
    }))

  it.live("a server that cannot be reached fails with DatabaseUnreachable; the password is in no message, cause, span or log", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const { failure, shown, spans } = yield* build(
        PgStore.layerConfig({ connectTimeout: Config.duration("TIMEOUT") }),
        {
          DATABASE_URL:
            `postgres://facta:${password}@127.0.0.1:${port}/facta_app?application_name=x&password=${password}`,
          TIMEOUT: "2 seconds"
        }
      )
      const error = Option.getOrThrow(failure)
      expect(error).toBeInstanceOf(PgStore.DatabaseUnreachable)
      expect(error).toMatchObject({ target: `127.0.0.1:${port}/facta_app` })
      expect(String(error)).toContain(`Cannot reach PostgreSQL at 127.0.0.1:${port}/facta_app`)
      expect(shown).toContain("ECONNREFUSED")
      expect(spans.find((span) => span.name === "PgStore.connect")?.attributes.get("facta.database")).toBe(
        `127.0.0.1:${port}/facta_app`
      )
      expect(shown).not.toContain(password)
    }))

  it.live("layerFromUrl takes a Redacted URL too, and refuses one whose credentials are not encoded without dialling it", () =>
    Effect.gen(function*() {
      const { failure, shown } = yield* build(
        PgStore.layerFromUrl(Redacted.make(`postgres://facta:99/${password}@127.0.0.1:5432/db`)),
        {}
      )
      const error = Option.getOrThrow(failure)
      expect(error).toBeInstanceOf(PgStore.DatabaseUnreachable)
      expect(error).toMatchObject({ target: "a DATABASE_URL with unencoded credentials" })
      expect(shown).not.toContain(password)
      expect(shown).not.toContain("ECONNREFUSED")
      expect(PgStore.describeUrl(`postgres://facta:${password}@db.internal:6543/app?password=${password}`)).toBe(
        "db.internal:6543/app"
      )
    }))
})
