import { describe, it } from "@effect/vitest"
import { DeciderSpec } from "@facta/testing"
import type { Actor, PostingCommand, PostingEvent } from "../src/Posting.js"
import * as Posting from "../src/Posting.js"

const spec = DeciderSpec.for(Posting.make(10))

const workflow: readonly [Actor, ...Array<Actor>] = [
  { name: "lint", kind: "script" },
  { name: "summarize", kind: "llm" }
]
const submitted: PostingEvent = { _tag: "PostingSubmitted", workflow, breakerThreshold: 2 }
const lintRan: PostingEvent = { _tag: "ScriptExecutionCompleted", actor: "lint", durationMs: 120 }
const lintFailed: PostingEvent = { _tag: "ScriptExecutionFailed", actor: "lint", exitCode: 1, error: "E042" }
const llmFailed: PostingEvent = { _tag: "LlmCallFailed", actor: "summarize", model: "m1", error: "timeout" }
const llmAnswered: PostingEvent = { _tag: "LlmCallCompleted", actor: "summarize", model: "m1", tokens: 300 }

const key = "k"
const submit: PostingCommand = { _tag: "SubmitPosting", idempotencyKey: key, workflow, breakerThreshold: 2 }
const completeLint: PostingCommand = { _tag: "CompleteScript", idempotencyKey: key, actor: "lint", durationMs: 120 }
const failLint: PostingCommand = { _tag: "FailScript", idempotencyKey: key, actor: "lint", exitCode: 1, error: "E042" }
const completeLlm: PostingCommand = {
  _tag: "CompleteLlmCall",
  idempotencyKey: key,
  actor: "summarize",
  model: "m1",
  tokens: 300
}
const failLlm: PostingCommand = {
  _tag: "FailLlmCall",
  idempotencyKey: key,
  actor: "summarize",
  model: "m1",
  error: "timeout"
}

describe("Posting", () => {
  describe("submitting", () => {
    it.effect("submits a posting: the first actor's turn", () =>
      spec.when(submit).then([submitted], {
        state: { _tag: "InFlight", workflow, breakerThreshold: 2, step: 0, failures: 0 }
      }))

    it.effect("refuses to submit a posting twice", () =>
      spec.given([submitted]).when(submit).thenFails(new Posting.PostingAlreadySubmitted()))
  })

  describe("script steps", () => {
    it.effect("a completed script hands over to the next actor", () =>
      spec.given([submitted]).when(completeLint).then([lintRan], {
        state: { _tag: "InFlight", workflow, breakerThreshold: 2, step: 1, failures: 0 }
      }))

    it.effect("a failed script stays the current actor and counts the failure", () =>
      spec.given([submitted]).when(failLint).then([lintFailed], {
        state: { _tag: "InFlight", workflow, breakerThreshold: 2, step: 0, failures: 1 }
      }))

    it.effect("a success resets the failure count", () =>
      spec.given([submitted, lintFailed, lintRan]).when(failLlm).then([llmFailed]))

    it.effect("the threshold's consecutive failure opens the breaker and the posting goes terminal", () =>
      spec.given([submitted, lintFailed]).when(failLint).then([
        lintFailed,
        { _tag: "CircuitBreakerOpened", actor: "lint", consecutiveFailures: 2 },
        {
          _tag: "PostingTerminal",
          outcome: "failed",
          reason: "the circuit breaker of lint opened after 2 consecutive failure(s)"
        }
      ], {
        state: {
          _tag: "Terminal",
          outcome: "failed",
          reason: "the circuit breaker of lint opened after 2 consecutive failure(s)",
          openBreaker: "lint"
        }
      }))

    it.effect("refuses a script step for an LLM actor", () =>
      spec.given([submitted, lintRan]).when({
        _tag: "CompleteScript",
        idempotencyKey: key,
        actor: "summarize",
        durationMs: 1
      })
        .thenFails(new Posting.WrongActorKind({ actor: "summarize", kind: "llm", reported: "script" })))

    it.effect("refuses a step of an actor whose turn it is not", () =>
      spec.given([submitted]).when({
        _tag: "FailLlmCall",
        idempotencyKey: key,
        actor: "summarize",
        model: "m1",
        error: "x"
      })
        .thenFails(new Posting.NotCurrentActor({ expected: "lint", actual: "summarize" })))

    it.effect("refuses a step on a posting never submitted", () =>
      spec.when(completeLint).thenFails(new Posting.PostingNotFound()))
  })

  describe("LLM steps", () => {
    it.effect("the last actor's completion makes the posting terminal, completed", () =>
      spec.given([submitted, lintRan]).when(completeLlm).then([
        llmAnswered,
        { _tag: "PostingTerminal", outcome: "completed", reason: "all 2 actor(s) completed" }
      ], { state: { _tag: "Terminal", outcome: "completed", reason: "all 2 actor(s) completed", openBreaker: null } }))

    it.effect("LLM failures open the LLM actor's breaker", () =>
      spec.given([submitted, lintRan, llmFailed]).when(failLlm).thenState({
        _tag: "Terminal",
        outcome: "failed",
        reason: "the circuit breaker of summarize opened after 2 consecutive failure(s)",
        openBreaker: "summarize"
      }))

    it.effect("refuses an LLM step for a script actor", () =>
      spec.given([submitted]).when({ _tag: "FailLlmCall", idempotencyKey: key, actor: "lint", model: "m1", error: "x" })
        .thenFails(new Posting.WrongActorKind({ actor: "lint", kind: "script", reported: "llm" })))

    it.effect("refuses any step on a terminal posting", () =>
      spec.given([submitted, lintRan, llmAnswered, { _tag: "PostingTerminal", outcome: "completed", reason: "done" }])
        .when(completeLlm).thenFails(new Posting.PostingIsTerminal({ outcome: "completed" })))

    it.effect("refuses a step on a posting whose breaker opened", () =>
      spec.given([submitted, lintFailed, lintFailed, {
        _tag: "CircuitBreakerOpened",
        actor: "lint",
        consecutiveFailures: 2
      }, {
        _tag: "PostingTerminal",
        outcome: "failed",
        reason: "breaker"
      }]).when(completeLint).thenFails("PostingIsTerminal"))

    it.effect("refuses an LLM step on a posting never submitted", () =>
      spec.when(completeLlm).thenFails("PostingNotFound"))
  })
})
