/**
 * A TCP proxy in front of PostgreSQL that can lose an acknowledgement on purpose: once armed, it
 * lets the next statement containing a marker run and commit on the server, swallows the reply
 * up to the server's ReadyForQuery, and cuts the client's connection. The client sees a dropped
 * connection for work the database did.
 */
import { Effect } from "effect"
import { connect, createServer, type Socket } from "node:net"

export interface CuttingProxy {
  /** The URL to connect through the proxy. */
  readonly url: string
  /** Loses the reply to the next statement whose text contains `marker`. */
  readonly cutReplyTo: (marker: string) => Effect.Effect<void>
  /** How many replies were cut so far. */
  readonly cuts: Effect.Effect<number>
}

/** Whether `buffer` holds a complete ReadyForQuery ('Z') message of the backend protocol. */
const holdsReadyForQuery = (buffer: Buffer): boolean => {
  let offset = 0
  while (offset + 5 <= buffer.length) {
    const type = buffer[offset]
    const length = buffer.readInt32BE(offset + 1)
    if (offset + 1 + length > buffer.length) return false
    if (type === 0x5a) return true
    offset += 1 + length
  }
  return false
}

/** Starts a proxy to the server of `targetUrl`; it stops when the scope closes. */
export const cuttingProxy = (targetUrl: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly proxy: CuttingProxy; readonly close: () => void }>((resume) => {
      const target = new URL(targetUrl)
      let marker: string | undefined = undefined
      let cuts = 0
      const sockets = new Set<Socket>()
      const server = createServer((client) => {
        const upstream = connect(Number(target.port || 5432), target.hostname)
        sockets.add(client).add(upstream)
        let doomed = false
        let held = Buffer.alloc(0)
        const cut = () => {
          cuts++
          client.destroy()
          upstream.destroy()
        }
        client.on("data", (chunk) => {
          if (marker !== undefined && chunk.includes(marker)) {
            marker = undefined
            doomed = true
          }
          upstream.write(chunk)
        })
        upstream.on("data", (chunk) => {
          if (!doomed) return void client.write(chunk)
          held = Buffer.concat([held, chunk])
          if (holdsReadyForQuery(held)) cut()
        })
        for (const socket of [client, upstream]) {
          socket.on("error", () => undefined)
          socket.on("close", () => {
            sockets.delete(socket)
            client.destroy()
            upstream.destroy()
          })
        }
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        const url = new URL(targetUrl)
        url.hostname = "127.0.0.1"
        url.port = String(port)
        resume(Effect.succeed({
          proxy: {
            url: url.toString(),
            cutReplyTo: (text) => Effect.sync(() => void (marker = text)),
            cuts: Effect.sync(() => cuts)
          },
          close: () => {
            for (const socket of sockets) socket.destroy()
            server.close()
          }
        }))
      })
    }),
    ({ close }) => Effect.sync(close)
  ).pipe(Effect.map(({ proxy }) => proxy))
