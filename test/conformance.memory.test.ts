/** The event store contract, against the in-memory store. */
import { EventStore } from "@facta/core"
import { EventStoreConformance } from "@facta/testing"

EventStoreConformance.run("in-memory", EventStore.layerMemory)
