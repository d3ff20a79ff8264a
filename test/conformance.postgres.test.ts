/**
 * The event store contract, unchanged, against PostgreSQL: the run's embedded server, or the
 * one DATABASE_URL names. The stores live in a fresh schema dropped at the end.
 */
import { EventStoreConformance } from "@facta/testing"
import { storesLayer } from "../packages/postgres/test/support.js"

EventStoreConformance.run("postgres", storesLayer())
