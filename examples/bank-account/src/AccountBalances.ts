/**
 * The balance list: one row per bank account with its owner, balance, status and activity,
 * kept in PostgreSQL by a projection. Each row remembers the stream version it reflects, so an
 * event delivered twice (a replay, a rebuild racing a live batch) changes nothing.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { RecordedEvent } from "@facta/core"
import { Projection, StreamId } from "@facta/core"
import { Effect, Schema } from "effect"
import type { BankAccountEvent } from "./BankAccount.js"
import { BankAccountEvents } from "./BankAccount.js"

/** A row of the balance list. */
export const AccountBalance = Schema.Struct({
  accountId: Schema.String,
  owner: Schema.String,
  status: Schema.Literal("open", "closed"),
  balanceCents: Schema.Number,
  deposits: Schema.Number,
  withdrawals: Schema.Number,
  version: Schema.Number,
  updatedAt: Schema.DateFromSelf
})
export type AccountBalance = typeof AccountBalance.Type

/** Creates the balance list table in `schema` if it is not there. */
export const migrate = (schema: string): Effect.Effect<void, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.asVoid(sql`
      CREATE TABLE IF NOT EXISTS ${sql(schema)}.account_balances (
        account_id    text PRIMARY KEY,
        owner         text NOT NULL,
        status        text NOT NULL,
        balance_cents bigint NOT NULL DEFAULT 0,
        deposits      integer NOT NULL DEFAULT 0,
        withdrawals   integer NOT NULL DEFAULT 0,
        version       integer NOT NULL,
        updated_at    timestamptz NOT NULL
      )`))

const accountIdOf = (streamId: string): string => streamId.slice(StreamId.category(streamId).length + 1)

/** Applies one event to the table; a no-op when the row already reflects its version. */
const apply = (schema: string, event: RecordedEvent.RecordedEvent<BankAccountEvent>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const table = sql`${sql(schema)}.account_balances`
    const accountId = accountIdOf(event.streamId)
    const at = event.recordedAt
    const version = event.streamVersion
    const data = event.data
    switch (data._tag) {
      case "AccountOpened":
        return sql`
          INSERT INTO ${table} (account_id, owner, status, version, updated_at)
          VALUES (${accountId}, ${data.owner}, 'open', ${version}, ${at})
          ON CONFLICT (account_id) DO NOTHING`
      case "Deposited":
        return sql`
          UPDATE ${table} SET balance_cents = balance_cents + ${data.amountCents}, deposits = deposits + 1,
                 version = ${version}, updated_at = ${at}
           WHERE account_id = ${accountId} AND version < ${version}`
      case "Withdrawn":
        return sql`
          UPDATE ${table} SET balance_cents = balance_cents - ${data.amountCents}, withdrawals = withdrawals + 1,
                 version = ${version}, updated_at = ${at}
           WHERE account_id = ${accountId} AND version < ${version}`
      case "AccountClosed":
        return sql`
          UPDATE ${table} SET status = 'closed', version = ${version}, updated_at = ${at}
           WHERE account_id = ${accountId} AND version < ${version}`
    }
  })

/** The balance list projection, writing to `schema`. */
export const projection = (schema: string) =>
  Projection.make({
    name: "account_balances",
    catalog: BankAccountEvents,
    categories: ["bank_account"],
    handle: (event) => Effect.asVoid(apply(schema, event)),
    reset: Effect.flatMap(
      SqlClient.SqlClient,
      (sql) => Effect.asVoid(sql`DELETE FROM ${sql(schema)}.account_balances`)
    ),
    batchSize: 200
  })

interface BalanceRow {
  readonly account_id: string
  readonly owner: string
  readonly status: "open" | "closed"
  readonly balance_cents: string
  readonly deposits: number
  readonly withdrawals: number
  readonly version: number
  readonly updated_at: Date
}

const toBalance = (row: BalanceRow): AccountBalance => ({
  accountId: row.account_id,
  owner: row.owner,
  status: row.status,
  balanceCents: Number(row.balance_cents),
  deposits: row.deposits,
  withdrawals: row.withdrawals,
  version: row.version,
  updatedAt: row.updated_at
})

/** The balance list, largest balance first; `status` narrows it. */
export const list = (
  schema: string,
  options: { readonly status?: "open" | "closed"; readonly limit?: number } = {}
): Effect.Effect<ReadonlyArray<AccountBalance>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<BalanceRow>`
      SELECT account_id, owner, status, balance_cents::text AS balance_cents, deposits, withdrawals, version, updated_at
        FROM ${sql(schema)}.account_balances
       WHERE ${options.status === undefined ? sql`true` : sql`status = ${options.status}`}
       ORDER BY account_balances.balance_cents DESC, account_id
       LIMIT ${options.limit ?? 100}`.pipe(Effect.map((rows) => rows.map(toBalance))))
