import { describe, expect, it } from "@effect/vitest"
import { DeciderSpec } from "@facta/testing"
import type { SessionCommand, SessionEvent } from "../src/Session.js"
import {
  notBeforeOf,
  RequeueOutOfOrder,
  Session,
  SessionAlreadyQueued,
  SessionNotDue,
  SessionNotFailed,
  SessionNotFound,
  SessionNotQueued,
  SessionNotRunning
} from "../src/Session.js"

const spec = DeciderSpec.for(Session)
const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 9, 0, second))

const queued: SessionEvent = { _tag: "SessionQueued", taskId: "t1", queuedAt: at(0) }
const started = (run: number, second: number): SessionEvent => ({ _tag: "SessionStarted", run, startedAt: at(second) })
const failed = (run: number, second: number): SessionEvent => ({
  _tag: "SessionCompleted",
  run,
  outcome: "failure",
  reason: "tests failed",
  completedAt: at(second)
})
const requeued = (attempt: number, second: number): SessionEvent => ({
  _tag: "SessionRequeued",
  attempt,
  notBefore: at(second)
})

const requeue = (attempt: number): SessionCommand => ({
  _tag: "RequeueSession",
  attempt,
  maxRetries: 3,
  baseDelayMillis: 2_000
})

describe("Session", () => {
  describe("queueing and starting", () => {
    it.effect("queues a session, due at once", () =>
      spec.when({ _tag: "QueueSession", taskId: "t1", at: at(0) }).then([queued], {
        state: { _tag: "Queued", taskId: "t1", run: 1, requeues: 0, notBefore: at(0) }
      }))

    it.effect("refuses to queue a session id twice", () =>
      spec.given([queued]).when({ _tag: "QueueSession", taskId: "t1", at: at(1) }).thenFails(
        new SessionAlreadyQueued()
      ))

    it.effect("starts a queued session", () =>
      spec.given([queued]).when({ _tag: "StartSession", at: at(1) }).then([started(1, 1)]))

    it.effect("refuses to start a session that was never queued", () =>
      spec.when({ _tag: "StartSession", at: at(1) }).thenFails(new SessionNotFound()))

    it.effect("refuses to start a running session", () =>
      spec.given([queued, started(1, 1)]).when({ _tag: "StartSession", at: at(2) }).thenFails(
        new SessionNotQueued({ state: "running" })
      ))

    it.effect("refuses to start a re-queued session before its backoff has passed", () =>
      spec.given([queued, started(1, 1), failed(1, 5), requeued(1, 7)]).when({ _tag: "StartSession", at: at(6) })
        .thenFails(new SessionNotDue({ notBefore: at(7), at: at(6) })))

    it.effect("starts a re-queued session once it is due, as the next run", () =>
      spec.given([queued, started(1, 1), failed(1, 5), requeued(1, 7)]).when({ _tag: "StartSession", at: at(7) })
        .then([started(2, 7)]))
  })

  describe("running", () => {
    it.effect("records tool use", () =>
      spec.given([queued, started(1, 1)]).when({ _tag: "UseTool", tool: "bash", at: at(2) }).then(
        [{ _tag: "SessionToolUsed", tool: "bash", usedAt: at(2) }],
        { state: { _tag: "Running", taskId: "t1", run: 1, requeues: 0, toolsUsed: 1 } }
      ))

    it.effect("refuses tool use on a queued session", () =>
      spec.given([queued]).when({ _tag: "UseTool", tool: "bash", at: at(2) }).thenFails(
        new SessionNotRunning({ state: "queued" })
      ))

    it.effect("completes with success", () =>
      spec.given([queued, started(1, 1)]).when({ _tag: "CompleteSession", outcome: "success", reason: "", at: at(3) })
        .then([{ _tag: "SessionCompleted", run: 1, outcome: "success", reason: "", completedAt: at(3) }], {
          state: { _tag: "Succeeded", taskId: "t1", run: 1, requeues: 0 }
        }))

    it.effect("completes with failure", () =>
      spec.given([queued, started(1, 1)]).when({
        _tag: "CompleteSession",
        outcome: "failure",
        reason: "tests failed",
        at: at(5)
      }).then([failed(1, 5)], {
        state: { _tag: "Failed", taskId: "t1", run: 1, requeues: 0, failedAt: at(5), reason: "tests failed" }
      }))

    it.effect("refuses to complete a session that is not running", () =>
      spec.given([queued]).when({ _tag: "CompleteSession", outcome: "success", reason: "", at: at(3) }).thenFails(
        "SessionNotRunning"
      ))

    it.effect("refuses to complete a session that was never queued", () =>
      spec.when({ _tag: "CompleteSession", outcome: "success", reason: "", at: at(3) }).thenFails(
        new SessionNotFound()
      ))
  })

  describe("re-queueing with backoff", () => {
    it("the backoff doubles with each attempt", () => {
      expect([1, 2, 3].map((attempt) => notBeforeOf(at(0), attempt, 2_000))).toEqual([at(2), at(4), at(8)])
    })

    it.effect("re-queues the first failure after the base delay", () =>
      spec.given([queued, started(1, 1), failed(1, 5)]).when(requeue(1)).then([requeued(1, 7)], {
        state: { _tag: "Queued", taskId: "t1", run: 2, requeues: 1, notBefore: at(7) }
      }))

    it.effect("re-queues the third failure after four times the base delay", () =>
      spec.given([
        queued,
        started(1, 1),
        failed(1, 5),
        requeued(1, 7),
        started(2, 7),
        failed(2, 10),
        requeued(2, 14),
        started(3, 14),
        failed(3, 20)
      ]).when(requeue(3)).then([requeued(3, 28)]))

    it.effect("abandons the session on the failure after the last retry", () =>
      spec.given([
        queued,
        started(1, 1),
        failed(1, 5),
        requeued(1, 7),
        started(2, 7),
        failed(2, 10),
        requeued(2, 14),
        started(3, 14),
        failed(3, 20),
        requeued(3, 28),
        started(4, 28),
        failed(4, 30)
      ]).when(requeue(4)).then([{ _tag: "SessionAbandoned", runs: 4, reason: "failed 4 times; last: tests failed" }], {
        state: { _tag: "Abandoned", taskId: "t1", run: 4, requeues: 3 }
      }))

    it.effect("refuses a repeated re-queue of the same failure", () =>
      spec.given([queued, started(1, 1), failed(1, 5), requeued(1, 7), started(2, 7), failed(2, 10)]).when(requeue(1))
        .thenFails(new RequeueOutOfOrder({ expected: 2, requested: 1 })))

    it.effect("refuses to re-queue a session that has not failed", () =>
      spec.given([queued, started(1, 1)]).when(requeue(1)).thenFails(new SessionNotFailed({ state: "running" })))

    it.effect("refuses to re-queue a session that was already re-queued", () =>
      spec.given([queued, started(1, 1), failed(1, 5), requeued(1, 7)]).when(requeue(1)).thenFails(
        new SessionNotFailed({ state: "queued" })
      ))
  })
})
