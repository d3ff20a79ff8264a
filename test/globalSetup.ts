/**
 * Vitest global setup: one PostgreSQL for the whole run. `DATABASE_URL` selects a server;
 * otherwise a throwaway embedded PostgreSQL starts here and stops when the run ends. Test files
 * read the URL with `inject("databaseUrl")` and isolate themselves in their own Postgres schema.
 */
import type { TestProject } from "vitest/node"
import { start } from "../packages/testing/src/TestDatabase.js"

declare module "vitest" {
  export interface ProvidedContext {
    readonly databaseUrl: string
    readonly databaseKind: string
  }
}

export default async function setup(project: TestProject) {
  const server = await start()
  project.provide("databaseUrl", server.url)
  project.provide("databaseKind", server.embedded ? "embedded" : "DATABASE_URL")
  return async () => {
    await server.stop()
  }
}
