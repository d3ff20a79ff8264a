/**
 * The event store contract against PostgreSQL through a plain `PgClient`, without a `PgPool`:
 * every statement runs through `@effect/sql` (conformance.postgres.test.ts covers the pool path).
 */
import { EventStoreConformance } from "@facta/testing"
import { storesLayer } from "../packages/postgres/test/support.js"

EventStoreConformance.run("postgres without PgPool", storesLayer(undefined, { withoutPool: true }))
