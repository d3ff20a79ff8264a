import type { CheckpointStore, EventStore, ProjectionStore } from "@facta/core"
import type { Effect, Scope } from "effect"
import type { Fixture } from "./fixtures.js"

/** Registers one case of the suite; the body gets a fresh fixture and a scope. */
export type CaseRegistrar<R> = <A, E>(
  name: string,
  body: (
    fixture: Fixture<R>
  ) => Effect.Effect<
    A,
    E,
    EventStore.EventStore | CheckpointStore.CheckpointStore | ProjectionStore.ProjectionStore | R | Scope.Scope
  >
) => void
