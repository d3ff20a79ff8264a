/**
 * A posting moving through a workflow of actors: each actor is a script or an LLM call, run in
 * order. An actor's step completes (the posting goes on to the next actor, or is terminal when
 * it was the last) or fails (the same actor is tried again). Each actor has a circuit breaker:
 * after `breakerThreshold` consecutive failures of the same actor it opens and the posting goes
 * terminal, failed.
 *
 * The breaker counts failures of one actor on one posting. A breaker shared by every posting
 * (an LLM provider that is down for everyone) would be an aggregate of its own, fed by a policy
 * like the ones in the tasks example.
 *
 * Every command carries an idempotency key; the decider ignores it, `IdempotentCommands` uses
 * it to derive the event ids.
 */
import { Aggregate, Decider, EventCatalog } from "@facta/core"
import { Config, Data, Effect, Schema } from "effect"

// ---------------------------------------------------------------------------------------------
// events
// ---------------------------------------------------------------------------------------------

/** What an actor runs. */
export const ActorKind = Schema.Literal("script", "llm")
/** What an actor runs. */
export type ActorKind = typeof ActorKind.Type

/** One actor of a workflow. */
export const Actor = Schema.Struct({ name: Schema.NonEmptyTrimmedString, kind: ActorKind })
/** One actor of a workflow. */
export type Actor = typeof Actor.Type

const ActorName = Schema.NonEmptyTrimmedString
const BreakerThreshold = Schema.Int.pipe(Schema.between(1, 100))

/** A posting entered its workflow. */
export const PostingSubmitted = Schema.TaggedStruct("PostingSubmitted", {
  workflow: Schema.NonEmptyArray(Actor),
  breakerThreshold: BreakerThreshold
})

/** A script actor ran to completion. */
export const ScriptExecutionCompleted = Schema.TaggedStruct("ScriptExecutionCompleted", {
  actor: ActorName,
  durationMs: Schema.NonNegativeInt
})

/** A script actor failed. */
export const ScriptExecutionFailed = Schema.TaggedStruct("ScriptExecutionFailed", {
  actor: ActorName,
  exitCode: Schema.Int,
  error: Schema.String
})

/** An LLM actor's call returned. */
export const LlmCallCompleted = Schema.TaggedStruct("LlmCallCompleted", {
  actor: ActorName,
  model: Schema.String,
  tokens: Schema.NonNegativeInt
})

/** An LLM actor's call failed. */
export const LlmCallFailed = Schema.TaggedStruct("LlmCallFailed", {
  actor: ActorName,
  model: Schema.String,
  error: Schema.String
})

/** The actor failed `consecutiveFailures` times in a row: its breaker opened. */
export const CircuitBreakerOpened = Schema.TaggedStruct("CircuitBreakerOpened", {
  actor: ActorName,
  consecutiveFailures: Schema.Int
})

/** The posting is done: every actor completed, or a breaker opened. */
export const PostingTerminal = Schema.TaggedStruct("PostingTerminal", {
  outcome: Schema.Literal("completed", "failed"),
  reason: Schema.String
})

/** Every posting event. */
export const PostingEvents = EventCatalog.make([
  PostingSubmitted,
  ScriptExecutionCompleted,
  ScriptExecutionFailed,
  LlmCallCompleted,
  LlmCallFailed,
  CircuitBreakerOpened,
  PostingTerminal
])

/** A posting event. */
export type PostingEvent = typeof PostingEvents.schema.Type

// ---------------------------------------------------------------------------------------------
// commands and domain errors
// ---------------------------------------------------------------------------------------------

const IdempotencyKey = Schema.NonEmptyTrimmedString

/** Submits a posting to a workflow. */
export const SubmitPosting = Schema.TaggedStruct("SubmitPosting", {
  idempotencyKey: IdempotencyKey,
  workflow: Schema.NonEmptyArray(Actor),
  breakerThreshold: BreakerThreshold
})
/** The current (script) actor completed. */
export const CompleteScript = Schema.TaggedStruct("CompleteScript", {
  idempotencyKey: IdempotencyKey,
  actor: ActorName,
  durationMs: Schema.NonNegativeInt
})
/** The current (script) actor failed. */
export const FailScript = Schema.TaggedStruct("FailScript", {
  idempotencyKey: IdempotencyKey,
  actor: ActorName,
  exitCode: Schema.Int,
  error: Schema.String
})
/** The current (LLM) actor's call returned. */
export const CompleteLlmCall = Schema.TaggedStruct("CompleteLlmCall", {
  idempotencyKey: IdempotencyKey,
  actor: ActorName,
  model: Schema.String,
  tokens: Schema.NonNegativeInt
})
/** The current (LLM) actor's call failed. */
export const FailLlmCall = Schema.TaggedStruct("FailLlmCall", {
  idempotencyKey: IdempotencyKey,
  actor: ActorName,
  model: Schema.String,
  error: Schema.String
})

/** Every posting command. */
export const PostingCommand = Schema.Union(SubmitPosting, CompleteScript, FailScript, CompleteLlmCall, FailLlmCall)
/** A posting command. */
export type PostingCommand = typeof PostingCommand.Type

/** `SubmitPosting` on a posting id already used. */
export class PostingAlreadySubmitted extends Data.TaggedError("PostingAlreadySubmitted")<{}> {
  override get message() {
    return "This posting was already submitted; submit new work under a new posting id"
  }
}

/** A step on a posting that was never submitted. */
export class PostingNotFound extends Data.TaggedError("PostingNotFound")<{}> {
  override get message() {
    return "No posting with this id was submitted; submit it first"
  }
}

/** A step on a posting that is terminal. */
export class PostingIsTerminal
  extends Data.TaggedError("PostingIsTerminal")<{ readonly outcome: "completed" | "failed" }>
{
  override get message() {
    return `The posting is terminal (${this.outcome}); no actor runs on it any more`
  }
}

/** A step reported by an actor whose turn it is not. */
export class NotCurrentActor
  extends Data.TaggedError("NotCurrentActor")<{ readonly expected: string; readonly actual: string }>
{
  override get message() {
    return `It is ${JSON.stringify(this.expected)}'s turn, not ${JSON.stringify(this.actual)}'s`
  }
}

/** A script step for an LLM actor, or the other way round. */
export class WrongActorKind extends Data.TaggedError("WrongActorKind")<{
  readonly actor: string
  readonly kind: ActorKind
  readonly reported: ActorKind
}> {
  override get message() {
    return `${JSON.stringify(this.actor)} is a ${this.kind} actor; a ${this.reported} step cannot be recorded for it`
  }
}

/** Every way a posting command can be rejected. */
export type PostingError =
  | PostingAlreadySubmitted
  | PostingNotFound
  | PostingIsTerminal
  | NotCurrentActor
  | WrongActorKind

// ---------------------------------------------------------------------------------------------
// state and decider
// ---------------------------------------------------------------------------------------------

/** A posting's state. */
export const PostingState = Schema.Union(
  Schema.TaggedStruct("NoPosting", {}),
  Schema.TaggedStruct("InFlight", {
    workflow: Schema.NonEmptyArray(Actor),
    breakerThreshold: Schema.Int,
    /** The index of the current actor. */
    step: Schema.Int,
    /** Consecutive failures of the current actor. */
    failures: Schema.Int
  }),
  Schema.TaggedStruct("Terminal", {
    outcome: Schema.Literal("completed", "failed"),
    reason: Schema.String,
    openBreaker: Schema.NullOr(Schema.String)
  })
)
/** A posting's state. */
export type PostingState = typeof PostingState.Type

type InFlight = Extract<PostingState, { readonly _tag: "InFlight" }>

/** The actor whose turn it is, if the posting is in flight. */
export const currentActor = (state: PostingState): Actor | undefined =>
  state._tag === "InFlight" ? state.workflow[state.step] : undefined

const checkTurn = (state: PostingState, actor: string, kind: ActorKind): Effect.Effect<InFlight, PostingError> => {
  if (state._tag === "NoPosting") return Effect.fail(new PostingNotFound())
  if (state._tag === "Terminal") return Effect.fail(new PostingIsTerminal({ outcome: state.outcome }))
  const current = state.workflow[state.step]
  if (current === undefined || current.name !== actor) {
    return Effect.fail(new NotCurrentActor({ expected: current?.name ?? "nobody", actual: actor }))
  }
  if (current.kind !== kind) return Effect.fail(new WrongActorKind({ actor, kind: current.kind, reported: kind }))
  return Effect.succeed(state)
}

const completed = (state: InFlight, event: PostingEvent): ReadonlyArray<PostingEvent> =>
  state.step + 1 >= state.workflow.length
    ? [event, {
      _tag: "PostingTerminal",
      outcome: "completed",
      reason: `all ${state.workflow.length} actor(s) completed`
    }]
    : [event]

const failed = (state: InFlight, actor: string, event: PostingEvent): ReadonlyArray<PostingEvent> => {
  const failures = state.failures + 1
  return failures < state.breakerThreshold ? [event] : [
    event,
    { _tag: "CircuitBreakerOpened", actor, consecutiveFailures: failures },
    {
      _tag: "PostingTerminal",
      outcome: "failed",
      reason: `the circuit breaker of ${actor} opened after ${failures} consecutive failure(s)`
    }
  ]
}

/** Decides a posting command on the posting's state. */
export const decide = (
  command: PostingCommand,
  state: PostingState
): Effect.Effect<ReadonlyArray<PostingEvent>, PostingError> => {
  switch (command._tag) {
    case "SubmitPosting":
      return state._tag === "NoPosting"
        ? Effect.succeed([{
          _tag: "PostingSubmitted",
          workflow: command.workflow,
          breakerThreshold: command.breakerThreshold
        }])
        : Effect.fail(new PostingAlreadySubmitted())
    case "CompleteScript":
      return Effect.map(
        checkTurn(state, command.actor, "script"),
        (inFlight) =>
          completed(inFlight, {
            _tag: "ScriptExecutionCompleted",
            actor: command.actor,
            durationMs: command.durationMs
          })
      )
    case "FailScript":
      return Effect.map(checkTurn(state, command.actor, "script"), (inFlight) =>
        failed(inFlight, command.actor, {
          _tag: "ScriptExecutionFailed",
          actor: command.actor,
          exitCode: command.exitCode,
          error: command.error
        }))
    case "CompleteLlmCall":
      return Effect.map(
        checkTurn(state, command.actor, "llm"),
        (inFlight) =>
          completed(inFlight, {
            _tag: "LlmCallCompleted",
            actor: command.actor,
            model: command.model,
            tokens: command.tokens
          })
      )
    case "FailLlmCall":
      return Effect.map(
        checkTurn(state, command.actor, "llm"),
        (inFlight) =>
          failed(inFlight, command.actor, {
            _tag: "LlmCallFailed",
            actor: command.actor,
            model: command.model,
            error: command.error
          })
      )
  }
}

/** Folds a posting event into the state; events that do not fit the state leave it as it is. */
export const evolve = (state: PostingState, event: PostingEvent): PostingState => {
  switch (event._tag) {
    case "PostingSubmitted":
      return state._tag === "NoPosting"
        ? { _tag: "InFlight", workflow: event.workflow, breakerThreshold: event.breakerThreshold, step: 0, failures: 0 }
        : state
    case "ScriptExecutionCompleted":
    case "LlmCallCompleted":
      return state._tag === "InFlight"
        ? { ...state, step: Math.min(state.step + 1, state.workflow.length), failures: 0 }
        : state
    case "ScriptExecutionFailed":
    case "LlmCallFailed":
      return state._tag === "InFlight" ? { ...state, failures: state.failures + 1 } : state
    case "CircuitBreakerOpened":
      return state
    case "PostingTerminal":
      return state._tag === "InFlight"
        ? {
          _tag: "Terminal",
          outcome: event.outcome,
          reason: event.reason,
          openBreaker: event.outcome === "failed" ? (state.workflow[state.step]?.name ?? null) : null
        }
        : state
  }
}

/** The posting decider; a terminal posting is final. */
export const PostingDecider = Decider.make({
  initialState: { _tag: "NoPosting" } as PostingState,
  decide,
  evolve,
  isTerminal: (state: PostingState) => state._tag === "Terminal"
})

/** The posting aggregate with a snapshot every `snapshotEvery` events: streams `posting-<id>`. */
export const make = (snapshotEvery: number) =>
  Aggregate.make({
    category: "posting",
    catalog: PostingEvents,
    decider: PostingDecider,
    snapshots: { schema: PostingState, schemaVersion: 1, every: snapshotEvery }
  })

/** The posting aggregate type. */
export type Posting = ReturnType<typeof make>

/**
 * How often to snapshot a posting: `FACTA_SNAPSHOT_EVERY` (a positive integer), 10 when unset.
 */
export const snapshotEvery: Config.Config<number> = Config.integer("FACTA_SNAPSHOT_EVERY").pipe(
  Config.withDefault(10),
  Config.validate({ message: "FACTA_SNAPSHOT_EVERY must be a positive integer", validation: (every) => every > 0 })
)

/** The posting aggregate, its snapshot interval read from the configuration (`FACTA_SNAPSHOT_EVERY`). */
export const fromConfig = Effect.map(snapshotEvery, make)
