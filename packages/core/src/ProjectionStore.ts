/**
 * What a `ProjectionRunner` needs from storage besides the event log and checkpoints:
 *
 * - **Leases**: only one runner instance across processes runs a projection. A lease expires
 *   unless renewed; another instance takes over once it has expired; every takeover bumps the
 *   lease's generation.
 * - **Fenced transactions**: a batch's read-model writes, its checkpoint and any parked event
 *   commit together, and only while the lease generation is still the caller's. A stale owner
 *   (one whose lease was taken over) gets `LeaseLost` and writes nothing.
 * - **Dead letters**: events a projection parked, to list and replay.
 *
 * The in-memory layer here serves tests and single-process apps; `@facta/postgres` provides the
 * durable one.
 *
 * @since 0.1.0
 */
import { Context, Data, Duration, Effect, FiberRef, Layer, Metric, Option } from "effect"
import { describeCause } from "./internal/describeCause.js"
import * as Metrics from "./Metrics.js"
import * as Position from "./Position.js"
import type { RecordedEvent } from "./RecordedEvent.js"
import * as Spans from "./Spans.js"

/**
 * The projection store could not be reached or failed during `operation`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProjectionStoreUnavailable extends Data.TaggedError("ProjectionStoreUnavailable")<{
  /** The store operation that failed (`acquire`, `park`, …), or `handle` / `setup` for the projection's own writes. */
  readonly operation: string
  /** The projection's name. */
  readonly projection: string
  /** The underlying failure (a lost connection, say). */
  readonly cause: unknown
}> {
  /** Names the operation and the projection, then the cause. */
  override get message(): string {
    return `The projection store is unavailable during ${this.operation} of ${JSON.stringify(this.projection)}: ${
      describeCause(this.cause)
    }`
  }
}

/**
 * The caller no longer holds the projection's lease: another instance took it over (or it
 * expired and was released). Nothing of the transaction was written.
 *
 * @since 0.1.0
 * @category errors
 */
export class LeaseLost extends Data.TaggedError("LeaseLost")<{
  /** The projection whose lease was lost. */
  readonly projection: string
  /** The owner that held the lease. */
  readonly owner: string
  /** The generation of the lease it held. */
  readonly generation: number
}> {
  /** Names the projection, the owner and the generation that lost the lease. */
  override get message(): string {
    return `The lease on projection ${JSON.stringify(this.projection)} held by ${this.owner} ` +
      `(generation ${this.generation}) was lost to another instance`
  }
}

/**
 * A lease held on a projection: who holds it and the generation it was granted at.
 *
 * @since 0.1.0
 * @category models
 */
export interface Lease {
  /** The projection the lease is on. */
  readonly projection: string
  /** Who holds it: a runner instance's owner id. */
  readonly owner: string
  /** Starts at 1 and grows each time the lease is taken anew; fenced transactions check it. */
  readonly generation: number
}

/**
 * An event a projection parked, with why and when.
 *
 * @since 0.1.0
 * @category models
 */
export interface ParkedEvent {
  /** The projection that parked it. */
  readonly projection: string
  /** The event as stored (encoded payload). */
  readonly event: RecordedEvent
  /** Why it was parked: the failure, formatted for a person. */
  readonly reason: string
  /** When it was last parked. */
  readonly parkedAt: Date
}

/**
 * The projection store service.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProjectionStoreShape {
  /**
   * Takes the lease on `projection` for `owner` if it is free, expired or already `owner`'s,
   * valid for `ttl`. `None` while another owner holds a live lease.
   */
  readonly acquire: (
    projection: string,
    owner: string,
    ttl: Duration.Duration
  ) => Effect.Effect<Option.Option<Lease>, ProjectionStoreUnavailable>
  /** Extends a held lease by `ttl`; fails with `LeaseLost` if it is no longer held. */
  readonly renew: (lease: Lease, ttl: Duration.Duration) => Effect.Effect<void, LeaseLost | ProjectionStoreUnavailable>
  /** Gives a held lease up so another instance can take over at once; a no-op if it is lost. */
  readonly release: (lease: Lease) => Effect.Effect<void, ProjectionStoreUnavailable>
  /**
   * Runs `effect` atomically (one database transaction on SQL stores), first checking that
   * `lease` is still held and keeping it from being taken over until the end. Fails with
   * `LeaseLost` and writes nothing when it is not held.
   */
  readonly transaction: <A, E, R>(
    lease: Lease,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | LeaseLost | ProjectionStoreUnavailable, R>
  /** Runs `effect` for `projection` atomically (one database transaction on SQL stores), without a lease. */
  readonly atomically: <A, E, R>(
    projection: string,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | ProjectionStoreUnavailable, R>
  /**
   * Whether a handler's failure is really the store being out of reach (a lost connection, a
   * server shutting down), not something wrong with the event: the runner then pauses and
   * resumes from its checkpoint instead of spending the projection's retries and failure policy.
   */
  readonly isUnavailable: (cause: unknown) => boolean
  /** Parks an event (inside `transaction`, next to the checkpoint that passes it). */
  readonly park: (
    projection: string,
    event: RecordedEvent,
    reason: string
  ) => Effect.Effect<void, ProjectionStoreUnavailable>
  /** The events `projection` parked, in log order. */
  readonly parked: (projection: string) => Effect.Effect<ReadonlyArray<ParkedEvent>, ProjectionStoreUnavailable>
  /** Removes a parked event (after a successful replay). */
  readonly unpark: (projection: string, eventId: string) => Effect.Effect<void, ProjectionStoreUnavailable>
  /** Removes every parked event of `projection` (before a rebuild). */
  readonly clearParked: (projection: string) => Effect.Effect<void, ProjectionStoreUnavailable>
}

/**
 * The `ProjectionStore` service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class ProjectionStore extends Context.Tag("@facta/core/ProjectionStore")<
  ProjectionStore,
  ProjectionStoreShape
>() {}

/**
 * The storage primitives a projection store implements: the service's operations, which
 * {@link make} wraps.
 *
 * @since 0.1.0
 * @category models
 */
export type Backend = ProjectionStoreShape

const onProjection = (projection: string) => ({ "facta.projection": projection })
const onLease = (lease: Lease) => ({ "facta.projection": lease.projection, "facta.generation": lease.generation })

/** Counts a `LeaseLost` failure of `effect` under the lease's projection. */
const countLost = <A, E, R>(effect: Effect.Effect<A, E, R>, lease: Lease): Effect.Effect<A, E, R> =>
  Effect.tapError(
    effect,
    (error) =>
      error instanceof LeaseLost
        ? Metric.increment(Metric.tagged(Metrics.leasesLost, "projection", lease.projection))
        : Effect.void
  )

/**
 * Builds the `ProjectionStore` service from a storage backend, the same way for every store: a
 * span per operation (`ProjectionStore.acquire`, `renew`, `release`, `transaction`,
 * `atomically`, `park`, `parked`, `unpark`, `clearParked`, with `facta.projection`, and
 * `facta.generation` for a lease's), and `Metrics.leasesLost` for every `LeaseLost`. It adds
 * nothing else around `transaction`: one span per batch commit, its transaction as the backend
 * runs it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (backend: Backend): ProjectionStoreShape => ({
  acquire: (projection, owner, ttl) =>
    Spans.withSpan(backend.acquire(projection, owner, ttl), "ProjectionStore.acquire", {
      "facta.projection": projection,
      "facta.owner": owner
    }),
  renew: (lease, ttl) =>
    Spans.withSpan(countLost(backend.renew(lease, ttl), lease), "ProjectionStore.renew", onLease(lease)),
  release: (lease) => Spans.withSpan(backend.release(lease), "ProjectionStore.release", onLease(lease)),
  transaction: (lease, effect) =>
    Spans.withSpan(countLost(backend.transaction(lease, effect), lease), "ProjectionStore.transaction", onLease(lease)),
  atomically: (projection, effect) =>
    Spans.withSpan(backend.atomically(projection, effect), "ProjectionStore.atomically", onProjection(projection)),
  isUnavailable: backend.isUnavailable,
  park: (projection, event, reason) =>
    Spans.withSpan(backend.park(projection, event, reason), "ProjectionStore.park", onProjection(projection)),
  parked: (projection) =>
    Spans.withSpan(backend.parked(projection), "ProjectionStore.parked", onProjection(projection)),
  unpark: (projection, eventId) =>
    Spans.withSpan(backend.unpark(projection, eventId), "ProjectionStore.unpark", onProjection(projection)),
  clearParked: (projection) =>
    Spans.withSpan(backend.clearParked(projection), "ProjectionStore.clearParked", onProjection(projection))
})

interface MemoryLease {
  readonly owner: string
  readonly generation: number
  readonly expiresAt: number
}

/**
 * An in-memory projection store. Leases expire on the Effect `Clock` of the fiber that makes the
 * store (a `TestClock` under `it.effect`), never the caller's: like a database server's, one
 * clock decides every lease, so a runner whose clock runs ahead cannot take a live lease.
 * Several runner instances in one process (a failover test) behave as they would across processes.
 * `transaction` and `atomically` apply the store's own writes (parked events) only when they
 * succeed, but cannot roll back in-memory read models: a handler that fails halfway through a
 * batch leaves what it wrote, so in-memory read models should be written idempotently.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<ProjectionStoreShape> = Effect.clockWith((clock) =>
  Effect.sync(() => {
    const currentTimeMillis = clock.currentTimeMillis
    const leases = new Map<string, MemoryLease>()
    const dead = new Map<string, Map<string, ParkedEvent>>()
    const lost = (lease: Lease) => new LeaseLost(lease)
    const holds = (lease: Lease, now: number) => {
      const current = leases.get(lease.projection)
      return current !== undefined && current.owner === lease.owner && current.generation === lease.generation &&
        current.expiresAt > now
    }
    const parkedOf = (projection: string) => {
      let parked = dead.get(projection)
      if (parked === undefined) dead.set(projection, parked = new Map())
      return parked
    }
    // The store's own writes inside `transaction` or `atomically` apply when it succeeds, all or
    // none: a park whose checkpoint save fails must not stay parked.
    const pendingWrites = FiberRef.unsafeMake<Array<() => void> | undefined>(undefined)
    const write = (apply: () => void) =>
      Effect.flatMap(FiberRef.get(pendingWrites), (pending) =>
        Effect.sync(() => {
          if (pending === undefined) apply()
          else pending.push(apply)
        }))
    const atomic = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.flatMap(FiberRef.get(pendingWrites), (outer) => {
        if (outer !== undefined) return effect
        const pending: Array<() => void> = []
        return Effect.locally(effect, pendingWrites, pending).pipe(
          Effect.tap(() => Effect.sync(() => pending.forEach((apply) => apply())))
        )
      })
    return make({
      acquire: (projection, owner, ttl) =>
        Effect.map(currentTimeMillis, (now) => {
          const current = leases.get(projection)
          if (current !== undefined && current.owner !== owner && current.expiresAt > now) return Option.none()
          const generation = current !== undefined && current.owner === owner && current.expiresAt > now
            ? current.generation
            : (current?.generation ?? 0) + 1
          leases.set(projection, { owner, generation, expiresAt: now + Duration.toMillis(ttl) })
          return Option.some({ projection, owner, generation })
        }),
      renew: (lease, ttl) =>
        Effect.flatMap(currentTimeMillis, (now) => {
          if (!holds(lease, now)) return Effect.fail(lost(lease))
          leases.set(lease.projection, { ...lease, expiresAt: now + Duration.toMillis(ttl) })
          return Effect.void
        }),
      release: (lease) =>
        Effect.map(currentTimeMillis, (now) => {
          const current = leases.get(lease.projection)
          if (current !== undefined && holds(lease, now)) leases.set(lease.projection, { ...current, expiresAt: 0 })
        }),
      transaction: <A, E, R>(lease: Lease, effect: Effect.Effect<A, E, R>) =>
        Effect.flatMap(
          currentTimeMillis,
          (now): Effect.Effect<A, E | LeaseLost, R> => holds(lease, now) ? atomic(effect) : Effect.fail(lost(lease))
        ),
      atomically: (_projection, effect) => atomic(effect),
      isUnavailable: () => false,
      park: (projection, event, reason) =>
        Effect.flatMap(currentTimeMillis, (now) =>
          write(() =>
            void parkedOf(projection).set(event.eventId, { projection, event, reason, parkedAt: new Date(now) })
          )),
      parked: (projection) =>
        Effect.sync(() =>
          [...parkedOf(projection).values()].sort((a, b) =>
            Position.order(a.event, b.event)
          )
        ),
      unpark: (projection, eventId) => write(() => void parkedOf(projection).delete(eventId)),
      clearParked: (projection) => write(() => void dead.delete(projection))
    })
  })
)

/**
 * A layer with a fresh in-memory projection store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<ProjectionStore> = Layer.effect(ProjectionStore, makeMemory)
