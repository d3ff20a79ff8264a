/**
 * A TCP proxy in front of PostgreSQL that can cut a client off completely, as a network
 * partition or a frozen host would: `partition` destroys every open connection and refuses new
 * ones until `heal`.
 */
import { Effect } from "effect"
import { connect, createServer, type Socket } from "node:net"

export interface PartitionProxy {
  /** The URL to connect through the proxy. */
  readonly url: string
  /** Drops every connection and refuses new ones. */
  readonly partition: Effect.Effect<void>
  /** Accepts connections again. */
  readonly heal: Effect.Effect<void>
}

/** Starts a proxy to the server of `targetUrl`; it stops when the scope closes. */
export const partitionProxy = (targetUrl: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly proxy: PartitionProxy; readonly close: () => void }>((resume) => {
      const target = new URL(targetUrl)
      let partitioned = false
      const sockets = new Set<Socket>()
      const track = (socket: Socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        socket.on("error", () => socket.destroy())
      }
      const server = createServer((client) => {
        track(client)
        if (partitioned) return void client.destroy()
        const upstream = connect(Number(target.port || 5432), target.hostname)
        track(upstream)
        client.pipe(upstream)
        upstream.pipe(client)
        client.on("close", () => upstream.destroy())
        upstream.on("close", () => client.destroy())
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
            partition: Effect.sync(() => {
              partitioned = true
              for (const socket of sockets) socket.destroy()
            }),
            heal: Effect.sync(() => void (partitioned = false))
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
