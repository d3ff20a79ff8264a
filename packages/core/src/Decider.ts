/**
 * Deciders: an aggregate's behaviour as pure functions. `decide` turns a command and the current
 * state into new events (or a typed domain error); `evolve` folds one event into the state.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"

/**
 * A decider over commands `C`, state `S` and events `E`; `decide` fails with domain errors
 * `Err` and may use services `R`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Decider<C, S, E, Err = never, R = never> {
  /** The state of a stream with no events. */
  readonly initialState: S
  /** Decides which events a command causes in a state, or fails with a domain error. */
  readonly decide: (command: C, state: S) => Effect.Effect<ReadonlyArray<E>, Err, R>
  /** Folds one event into the state. Must be total and pure: replaying the log relies on it. */
  readonly evolve: (state: S, event: E) => S
  /** Whether the state is final (the stream's life is over); tools use it to report streams. */
  readonly isTerminal?: (state: S) => boolean
}

/**
 * The definition `make` accepts: like `Decider`, but `decide` may return the events directly.
 *
 * The types are inferred from the functions' annotations: `S` from the state parameters (the
 * initial state only when no function annotates it, so an object literal needs no `as State`),
 * `E` from `evolve`'s event parameter (else from what `decide` returns), `C` from `decide`'s
 * command parameter, and `Err`/`R` from the Effects `decide` may return.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeciderDefinition<C, S, E, Err, R> {
  /** The state of a stream with no events. (The intersection only lowers its inference priority.) */
  readonly initialState: S & ({} | null | undefined)
  /**
   * The events a command causes in a state: an array, or an Effect of one that may fail with a
   * domain error. (`E & {}` lowers the inference priority of what it returns below `evolve`'s.)
   */
  readonly decide: (command: C, state: S) => ReadonlyArray<E & {}> | Effect.Effect<ReadonlyArray<E & {}>, Err, R>
  /** Folds one event into the state (total and pure, as in `Decider`). */
  readonly evolve: (state: S, event: E) => NoInfer<S>
  /** Whether the state is final, as in `Decider`. */
  readonly isTerminal?: (state: S) => boolean
}

/**
 * Builds a decider; a `decide` that returns an array is lifted into an Effect.
 *
 * Nothing needs a cast or a return type: event literals in the arrays `decide` returns check
 * against the events `evolve` takes (`{ _tag: "Opened", owner }` is an `Event`), and the domain
 * errors come from the `Effect.fail`s among its results. A literal inside `Effect.succeed([...])`
 * is typed before the event type is known, so its `_tag` widens to `string`: return the array
 * itself, or write `as const`.
 *
 * @example
 * const Account = Decider.make({
 *   initialState: { open: false, balance: 0 },
 *   decide: (command: Command, state: State) =>
 *     command._tag === "Open" ? [{ _tag: "Opened", owner: command.owner }]
 *     : state.open ? [{ _tag: "Deposited", amountCents: command.amountCents }]
 *     : Effect.fail(new NotOpen()),
 *   evolve: (state: State, event: Event): State =>
 *     event._tag === "Opened" ? { ...state, open: true } : { ...state, balance: state.balance + event.amountCents }
 * })
 * // Decider<Command, State, Event, NotOpen, never>
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <C, S, const E, Err = never, R = never>(
  definition: DeciderDefinition<C, S, E, Err, R>
): Decider<C, S, E, Err, R> => {
  const decide = (command: C, state: S): Effect.Effect<ReadonlyArray<E>, Err, R> =>
    Effect.suspend(() => {
      const decided = definition.decide(command, state)
      return Effect.isEffect(decided) ? decided : Effect.succeed(decided)
    })
  return definition.isTerminal === undefined
    ? { initialState: definition.initialState, decide, evolve: definition.evolve }
    : { initialState: definition.initialState, decide, evolve: definition.evolve, isTerminal: definition.isTerminal }
}

/**
 * Folds events into a state with the decider's `evolve`.
 *
 * @since 0.1.0
 * @category folding
 */
export const fold = <S, E>(
  decider: { readonly evolve: (state: S, event: E) => S },
  state: S,
  events: Iterable<E>
): S => {
  let current = state
  for (const event of events) current = decider.evolve(current, event)
  return current
}

/**
 * The state after `events`, starting from the decider's initial state.
 *
 * @since 0.1.0
 * @category folding
 */
export const replay = <S, E>(
  decider: { readonly initialState: S; readonly evolve: (state: S, event: E) => S },
  events: Iterable<E>
): S => fold(decider, decider.initialState, events)

/**
 * Decides a command in a state and returns the events and the state after them.
 *
 * @since 0.1.0
 * @category running
 */
export const run = <C, S, E, Err, R>(
  decider: Decider<C, S, E, Err, R>,
  command: C,
  state: S
): Effect.Effect<
  {
    /** The events the command decided (empty when it changes nothing). */
    readonly events: ReadonlyArray<E>
    /** The state after folding those events into the given state. */
    readonly state: S
  },
  Err,
  R
> => Effect.map(decider.decide(command, state), (events) => ({ events, state: fold(decider, state, events) }))

/**
 * Whether a state is terminal (`false` when the decider does not say).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isTerminal = <C, S, E, Err, R>(decider: Decider<C, S, E, Err, R>, state: S): boolean =>
  decider.isTerminal?.(state) ?? false
