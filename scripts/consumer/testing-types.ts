// Type-checked only (never run): the vitest-based entry points of @facta/testing resolve with
// their declared peers, and the root entry re-exports every module.
import type { DeciderSpec, EventStoreConformance, ProjectionRunnerConformance, RecordingTracer } from "@facta/testing"
import type * as Laws from "@facta/testing/Laws"

export type Modules = [
  typeof DeciderSpec.make,
  typeof EventStoreConformance,
  typeof ProjectionRunnerConformance,
  typeof RecordingTracer,
  typeof Laws.check
]
