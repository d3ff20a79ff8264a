/**
 * What every event store in the Postgres benchmark does, and the workload they share: Facta,
 * a hand-written node-postgres transaction, and Emmett each implement `Contender` over their
 * own Postgres schema on the same server, with a 16-connection pool.
 */

/** An event as the benchmark appends it: the shape of Facta's `NewEvent`, which the others map from. */
export interface BenchEvent {
  readonly eventId: string
  readonly type: string
  readonly schemaVersion: number
  readonly data: Readonly<Record<string, unknown>>
  readonly metadata: { readonly correlationId: string; readonly causationId: string; readonly userId: string }
}

/** One append: `events` to `streamId`, which must be at version `expected` (0: it must not exist). */
export interface PlannedAppend {
  readonly streamId: string
  readonly expected: number
  readonly events: ReadonlyArray<BenchEvent>
}

/** One append to a hot stream: read its version, append at exactly that version, retry on conflict. */
export interface HotAppend {
  readonly streamId: string
  readonly event: BenchEvent
}

/** How the hot-stream appends went: every append succeeded after `attempts` tries in all. */
export interface HotOutcome {
  readonly attempts: number
  readonly conflicts: number
}

/** An event store under test. */
export interface Contender {
  readonly name: string
  /** Runs `plan`, `concurrency` appends at a time; each must succeed (a conflict is a bug here). */
  readonly appendAll: (plan: ReadonlyArray<PlannedAppend>, concurrency: number) => Promise<void>
  /** Runs the hot-stream appends, `concurrency` at a time, retrying each conflict until it succeeds. */
  readonly appendHot: (appends: ReadonlyArray<HotAppend>, concurrency: number) => Promise<HotOutcome>
  /** Loads a bank account by replaying its stream (read, decode, fold): its balance in cents. */
  readonly loadBalance: (streamId: string) => Promise<number>
  /** Reads the whole log in log order, `pageSize` events a round trip: how many events it read. */
  readonly readAll: (pageSize: number) => Promise<number>
  /**
   * Starts a live subscriber that follows the whole log (for a row that appends while one runs);
   * resolves once it runs, to a function that stops it. Only where the store has live readers.
   */
  readonly startSubscriber?: () => Promise<() => Promise<void>>
  /**
   * VACUUM (ANALYZE) of the contender's tables, as autovacuum would do sooner or later: run before
   * the read figures, so that an autovacuum burst does not land on one contender's timed runs.
   */
  readonly settle: () => Promise<void>
  /** Drops the contender's schema and closes its connections. */
  readonly close: () => Promise<void>
}

/** Runs `task` on every item, at most `concurrency` at a time (a plain promise worker pool). */
export const forEachConcurrently = async <A>(
  items: ReadonlyArray<A>,
  concurrency: number,
  task: (item: A) => Promise<unknown>
): Promise<void> => {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]
      await task(item)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}

/**
 * A bank account folded by hand from stored events, as an application without Facta would:
 * today's payloads only (the benchmark stores no old schema versions), no validation.
 */
export interface HandBalance {
  readonly open: boolean
  readonly balanceCents: number
}

/** The initial hand-folded account. */
export const handInitial: HandBalance = { open: false, balanceCents: 0 }

/** The amount of a stored deposit or withdrawal, unchecked: the baselines fold without validation. */
const centsOf = (data: unknown): number => (data as { readonly amountCents: number }).amountCents

/** Folds one stored event into a hand-folded account. */
export const handEvolve = (state: HandBalance, type: string, data: unknown): HandBalance => {
  switch (type) {
    case "AccountOpened":
      return state.open ? state : { open: true, balanceCents: 0 }
    case "Deposited":
      return state.open ? { open: true, balanceCents: state.balanceCents + centsOf(data) } : state
    case "Withdrawn":
      return state.open ? { open: true, balanceCents: state.balanceCents - centsOf(data) } : state
    default:
      return state
  }
}
