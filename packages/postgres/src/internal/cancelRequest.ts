/**
 * PostgreSQL's cancel request for a statement running on a pooled connection, sent the way
 * node-postgres's `Client.cancel` sends it: a connection of its own to the server, with no login
 * and nothing taken from the pool, that carries the backend's process id and secret key. The
 * server signals that backend and closes the connection.
 */
import pg from "pg"

/** What node-postgres keeps on a connected client and does not declare. */
interface ClientInternals {
  readonly processID: number | null
  readonly secretKey: number | null
}

/** The parts of an unconnected `pg.Client` used to send a cancel request (as its `cancel` does). */
interface CancelingClient {
  readonly host: string
  readonly port: number
  readonly connection: NodeJS.EventEmitter & {
    readonly stream: { destroy(): void }
    connect(portOrPath: number | string, host?: string): void
    cancel(processID: number, secretKey: number): void
  }
}

/**
 * Asks the server to cancel the statement `client` runs, then calls `done` once: with `true`
 * when the server has taken the request (it closed the cancel connection, after signalling the
 * backend), with `false` when it could not be sent within `timeoutMillis`, in which case the
 * signal may still arrive later.
 */
export const sendCancelRequest = (
  pool: pg.Pool,
  client: pg.PoolClient,
  timeoutMillis: number,
  done: (delivered: boolean) => void
): void => {
  const { processID, secretKey } = client as unknown as ClientInternals
  if (processID === null || secretKey === null) return done(true)
  let called = false
  const finish = (delivered: boolean) => {
    if (called) return
    called = true
    clearTimeout(timer)
    done(delivered)
  }
  const { connection, host, port } = new pg.Client(pool.options) as unknown as CancelingClient
  connection.on("error", () => finish(false))
  connection.on("end", () => finish(true))
  connection.once("connect", () => connection.cancel(processID, secretKey))
  const timer = setTimeout(() => {
    finish(false)
    connection.stream.destroy()
  }, timeoutMillis)
  try {
    if (host.startsWith("/")) connection.connect(`${host}/.s.PGSQL.${port}`)
    else connection.connect(port, host)
  } catch {
    finish(false)
  }
}

const cancelBackend = /^SELECT pg_cancel_backend\((\d+)\)$/

/**
 * Sends `@effect/sql-pg`'s cancels of interrupted statements as cancel requests. It cancels with
 * `SELECT pg_cancel_backend(<pid>)` through `pool.query`, which waits for a free pooled
 * connection, and the interruption waits for it: on a pool that the statements to cancel hold,
 * up to its 5-second limit, after which the statement still runs. This pool's `query` sends that
 * text as a cancel request for its own connection with that pid instead (any other text, or a pid
 * it does not hold, runs as before).
 */
export const cancelOutsideThePool = (pool: pg.Pool, timeoutMillis: number): void => {
  const clients = new Map<number, pg.PoolClient>()
  const pidOf = (client: pg.PoolClient) => (client as unknown as ClientInternals).processID
  pool.on("connect", (client) => {
    const pid = pidOf(client)
    if (pid !== null) clients.set(pid, client)
  })
  pool.on("remove", (client) => {
    const pid = pidOf(client)
    if (pid !== null && clients.get(pid) === client) clients.delete(pid)
  })
  const query = pool.query.bind(pool) as (...args: Array<unknown>) => unknown
  const routed = (...args: Array<unknown>): unknown => {
    const [text, callback] = args
    const match = typeof text === "string" && typeof callback === "function" ? cancelBackend.exec(text) : null
    const client = match === null ? undefined : clients.get(Number(match[1]))
    if (client === undefined) return query(...args)
    sendCancelRequest(
      pool,
      client,
      timeoutMillis,
      () => (callback as (error: null, result: { rows: [] }) => void)(null, { rows: [] })
    )
    return undefined
  }
  Object.defineProperty(pool, "query", { value: routed, configurable: true, writable: true })
}
