/**
 * A database that cannot be reached when the layer starts: `DatabaseUnreachable` names the
 * target (host, port, database) and never the password.
 */
import { describe, expect, it } from "@effect/vitest"
import { PgStore } from "@facta/postgres"
import { Cause, Effect, Exit, Layer, Option } from "effect"
import { createServer } from "node:net"
import { databaseUrl } from "./support.js"

/** A local port nothing listens on (it was free a moment ago). */
const closedPort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** Every string reachable from `value` (a few levels deep), as one text. */
const describeDeeply = (value: unknown, depth = 0): string =>
  depth > 4 || value === null || value === undefined
    ? ""
    : typeof value === "object"
    ? Object.getOwnPropertyNames(value).map((key) => describeDeeply((value as Record<string, unknown>)[key], depth + 1))
      .join("\n")
    : String(value)

/** Builds the stores from `url` and returns the typed failure, checking it is not a defect. */
const buildFailure = (url: string, options: Parameters<typeof PgStore.layerFromUrl<readonly []>>[1]) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(Effect.scoped(Layer.build(PgStore.layerFromUrl(url, options))))
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isSuccess(exit)) throw new Error("the layer was built")
    expect(Cause.isDie(exit.cause)).toBe(false)
    const error = Option.getOrThrow(Cause.failureOption(exit.cause))
    expect(error).toBeInstanceOf(PgStore.DatabaseUnreachable)
    if (!(error instanceof PgStore.DatabaseUnreachable)) throw error
    // Everything a log line could show: message, pretty cause, and the causes' own messages.
    const shown = [error.message, String(error), Cause.pretty(exit.cause), describeDeeply(error.cause)]
    return { error, shown: shown.join("\n") }
  })

describe("PgStore.layerFromUrl when the database is down", () => {
  it.live("a closed port gives DatabaseUnreachable naming host:port/database, without the password", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const started = Date.now()
      const { error, shown } = yield* buildFailure(`postgres://facta:secret@127.0.0.1:${port}/nope`, {
        connectTimeout: "2 seconds"
      })
      expect(error.target).toBe(`127.0.0.1:${port}/nope`)
      expect(error.message).toContain(`127.0.0.1:${port}/nope`)
      expect(error.message).toContain("ECONNREFUSED")
      expect(shown).not.toContain("secret")
      expect(Date.now() - started).toBeLessThan(5_000)
    }))

  it.live("a database that does not exist on a running server gives DatabaseUnreachable, without the password", () =>
    Effect.gen(function*() {
      const url = new URL(databaseUrl())
      url.username = "postgres"
      url.password = "secret"
      url.pathname = "/facta_no_such_database"
      const { error, shown } = yield* buildFailure(url.toString(), { connectTimeout: "2 seconds" })
      expect(error.message).toContain(`${url.hostname}:${url.port || "5432"}/facta_no_such_database`)
      expect(shown).not.toContain("secret")
    }))

  it.live("a URL that does not parse gives DatabaseUnreachable without echoing the URL", () =>
    Effect.gen(function*() {
      const { error, shown } = yield* buildFailure("postgres://facta:secret@127.0.0.1:notaport/nope", {
        connectTimeout: "2 seconds"
      })
      expect(error.target).toBe("an unparseable DATABASE_URL")
      expect(shown).not.toContain("secret")
    }))
})
