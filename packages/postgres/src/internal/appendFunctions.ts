/**
 * The PL/pgSQL functions of the append, as each migration created them (see `PgSchema`). A
 * released migration's text never changes: a change is a new function text for a new migration.
 */

/** Migration 1's `version_satisfies`: whether a stream at `p_actual` meets the expectation. */
export const migration1VersionSatisfies = `
CREATE FUNCTION version_satisfies(p_expected text, p_expected_version bigint, p_actual bigint) RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
  SELECT CASE p_expected
    WHEN 'any' THEN true
    WHEN 'no_stream' THEN p_actual = 0
    WHEN 'stream_exists' THEN p_actual > 0
    ELSE p_actual = p_expected_version
  END
$$`

/**
 * When some of the appended event ids are already recorded: 'repeat' (all of them, in this
 * stream, consecutively, appended under an expectation this one also matches) with the original
 * result, or 'duplicate' with the reason. No row when none is recorded.
 */
export const migration1RepeatOutcome = `
CREATE FUNCTION repeat_outcome(p_stream_id text, p_expected text, p_expected_version bigint, p_event_ids uuid[])
RETURNS TABLE (outcome text, version bigint, last_position bigint, last_transaction_id text, detail text)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  v_count integer := coalesce(array_length(p_event_ids, 1), 0);
  r record;
BEGIN
  -- The common case, no id recorded, costs one index probe; the aggregate below is far dearer.
  IF NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = ANY (p_event_ids)) THEN
    RETURN;
  END IF;
  SELECT count(*) AS found,
         bool_and(e.stream_id = p_stream_id) AS same_stream,
         min(e.stream_version - i.ord) AS min_offset,
         max(e.stream_version - i.ord) AS max_offset,
         (array_agg(e.event_id::text ORDER BY i.ord))[1] AS first_id,
         (array_agg(e.stream_id ORDER BY (e.stream_id = p_stream_id), i.ord))[1] AS other_stream,
         (array_agg(e.stream_version ORDER BY i.ord))[1] AS first_version,
         (array_agg(e.global_position ORDER BY i.ord DESC))[1] AS last_global,
         (array_agg(e.transaction_id::text ORDER BY i.ord DESC))[1] AS last_tx
    INTO r
    FROM unnest(p_event_ids) WITH ORDINALITY AS i(event_id, ord)
    JOIN events e ON e.event_id = i.event_id;
  IF r.found = 0 THEN
    RETURN;
  END IF;
  IF NOT r.same_stream THEN
    RETURN QUERY SELECT 'duplicate', 0::bigint, 0::bigint, '0',
      r.first_id || '|it is already recorded in stream ' || to_json(r.other_stream)::text;
  ELSIF r.found < v_count OR r.min_offset <> r.max_offset THEN
    RETURN QUERY SELECT 'duplicate', 0::bigint, 0::bigint, '0',
      r.first_id || '|it is already recorded at version ' || r.first_version
        || ', but the append is not an exact repeat of the append that recorded it';
  ELSIF version_satisfies(p_expected, p_expected_version, r.min_offset) THEN
    RETURN QUERY SELECT 'repeat', r.min_offset + v_count, r.last_global, r.last_tx, NULL::text;
  ELSE
    RETURN QUERY SELECT 'duplicate', 0::bigint, 0::bigint, '0',
      r.first_id || '|it is already recorded at version ' || r.first_version
        || ', by an append made when the stream was at version ' || r.min_offset || ', which '
        || CASE p_expected WHEN 'any' THEN 'any version' WHEN 'no_stream' THEN 'no stream'
             WHEN 'stream_exists' THEN 'an existing stream' ELSE 'version ' || p_expected_version END
        || ' does not match';
  END IF;
END;
$$`

/**
 * Migration 1's `append_events`. One round trip per append: the idempotency check, the version check and bump on `streams`,
 * the multi-row insert and the commit notification, in a single statement's transaction.
 * Outcomes: appended | repeat (same event ids already recorded at the same place) | empty |
 * conflict (version = actual) | duplicate (detail = "<event id>|<reason>"). The repeat check runs
 * first (a cheap index probe) and again after waiting for the stream lock, so an append retried
 * while the original is still in flight is recognized as a repeat, not a conflict.
 */
export const migration1Append = `
CREATE FUNCTION append_events(
  p_stream_id text,
  p_expected text,
  p_expected_version bigint,
  p_event_ids uuid[],
  p_types text[],
  p_schema_versions integer[],
  p_data jsonb[],
  p_metadata jsonb[],
  p_channel text
) RETURNS TABLE (outcome text, version bigint, last_position bigint, last_transaction_id text, detail text)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  v_count integer := coalesce(array_length(p_event_ids, 1), 0);
  v_current bigint;
  v_last bigint;
BEGIN
  IF v_count > 0 THEN
    RETURN QUERY SELECT * FROM repeat_outcome(p_stream_id, p_expected, p_expected_version, p_event_ids);
    IF FOUND THEN
      RETURN;
    END IF;
  END IF;

  SELECT s.version INTO v_current FROM streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
  IF NOT FOUND THEN
    v_current := 0;
  END IF;
  IF NOT version_satisfies(p_expected, p_expected_version, v_current) THEN
    -- The same events, appended concurrently, may have committed while we waited for the lock.
    IF v_count > 0 THEN
      RETURN QUERY SELECT * FROM repeat_outcome(p_stream_id, p_expected, p_expected_version, p_event_ids);
      IF FOUND THEN
        RETURN;
      END IF;
    END IF;
    RETURN QUERY SELECT 'conflict', v_current, 0::bigint, '0', NULL::text;
    RETURN;
  END IF;
  IF v_count = 0 THEN
    RETURN QUERY SELECT 'empty', v_current,
      coalesce((SELECT e.global_position FROM events e WHERE e.stream_id = p_stream_id AND e.stream_version = v_current), 0),
      coalesce((SELECT e.transaction_id::text FROM events e WHERE e.stream_id = p_stream_id AND e.stream_version = v_current), '0'),
      NULL::text;
    RETURN;
  END IF;

  IF v_current = 0 THEN
    INSERT INTO streams AS s (stream_id, version) VALUES (p_stream_id, v_count) ON CONFLICT (stream_id) DO NOTHING;
    IF NOT FOUND THEN
      -- Another writer created the stream first: check again against what it wrote.
      SELECT s.version INTO v_current FROM streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
      IF NOT version_satisfies(p_expected, p_expected_version, v_current) THEN
        IF v_count > 0 THEN
          RETURN QUERY SELECT * FROM repeat_outcome(p_stream_id, p_expected, p_expected_version, p_event_ids);
          IF FOUND THEN
            RETURN;
          END IF;
        END IF;
        RETURN QUERY SELECT 'conflict', v_current, 0::bigint, '0', NULL::text;
        RETURN;
      END IF;
      UPDATE streams s SET version = v_current + v_count, updated_at = now() WHERE s.stream_id = p_stream_id;
    END IF;
  ELSE
    UPDATE streams s SET version = v_current + v_count, updated_at = now() WHERE s.stream_id = p_stream_id;
  END IF;

  WITH inserted AS (
    INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, data, metadata)
    SELECT p_stream_id, v_current + u.ord, u.event_id, u.type, u.schema_version, u.data, u.metadata
      FROM unnest(p_event_ids, p_types, p_schema_versions, p_data, p_metadata)
           WITH ORDINALITY AS u(event_id, type, schema_version, data, metadata, ord)
     ORDER BY u.ord
    RETURNING global_position
  )
  SELECT max(global_position) INTO v_last FROM inserted;
  PERFORM pg_notify(p_channel, v_last::text);
  RETURN QUERY SELECT 'appended', v_current + v_count, v_last, pg_current_xact_id()::text, NULL::text;
END;
$$`

/**
 * Migration 4's `append_events`: the same outcomes as the first, for less server work per append
 * (measured with pgbench at 16 connections): the "is any id recorded?" probe runs inline and
 * calls `repeat_outcome` only when it finds one; an append that expects a new stream creates it
 * straight away and takes the locking path only when it already exists; the insert notifies in
 * the same statement; the result is returned without another query.
 */
export const migration4Append = `
CREATE OR REPLACE FUNCTION append_events(
  p_stream_id text,
  p_expected text,
  p_expected_version bigint,
  p_event_ids uuid[],
  p_types text[],
  p_schema_versions integer[],
  p_data jsonb[],
  p_metadata jsonb[],
  p_channel text
) RETURNS TABLE (outcome text, version bigint, last_position bigint, last_transaction_id text, detail text)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  v_count integer := coalesce(array_length(p_event_ids, 1), 0);
  v_current bigint;
  v_created boolean := false;
BEGIN
  IF v_count > 0 AND EXISTS (SELECT 1 FROM events e WHERE e.event_id = ANY (p_event_ids)) THEN
    RETURN QUERY SELECT * FROM repeat_outcome(p_stream_id, p_expected, p_expected_version, p_event_ids);
    IF FOUND THEN
      RETURN;
    END IF;
  END IF;

  IF v_count > 0 AND (p_expected = 'no_stream' OR (p_expected = 'exact' AND p_expected_version = 0)) THEN
    INSERT INTO streams AS s (stream_id, version) VALUES (p_stream_id, v_count) ON CONFLICT (stream_id) DO NOTHING;
    v_created := FOUND;
  END IF;
  IF v_created THEN
    v_current := 0;
  ELSE
    SELECT s.version INTO v_current FROM streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
    IF NOT FOUND THEN
      v_current := 0;
    END IF;
    IF NOT version_satisfies(p_expected, p_expected_version, v_current) THEN
      IF v_count > 0 THEN
        RETURN QUERY SELECT * FROM repeat_outcome(p_stream_id, p_expected, p_expected_version, p_event_ids);
        IF FOUND THEN
          RETURN;
        END IF;
      END IF;
      RETURN QUERY SELECT 'conflict', v_current, 0::bigint, '0', NULL::text;
      RETURN;
    END IF;
    IF v_count = 0 THEN
      RETURN QUERY SELECT 'empty', v_current,
        coalesce((SELECT e.global_position FROM events e WHERE e.stream_id = p_stream_id AND e.stream_version = v_current), 0),
        coalesce((SELECT e.transaction_id::text FROM events e WHERE e.stream_id = p_stream_id AND e.stream_version = v_current), '0'),
        NULL::text;
      RETURN;
    END IF;
    IF v_current = 0 THEN
      INSERT INTO streams AS s (stream_id, version) VALUES (p_stream_id, v_count) ON CONFLICT (stream_id) DO NOTHING;
      IF NOT FOUND THEN
        SELECT s.version INTO v_current FROM streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
        IF NOT version_satisfies(p_expected, p_expected_version, v_current) THEN
          RETURN QUERY SELECT * FROM repeat_outcome(p_stream_id, p_expected, p_expected_version, p_event_ids);
          IF FOUND THEN
            RETURN;
          END IF;
          RETURN QUERY SELECT 'conflict', v_current, 0::bigint, '0', NULL::text;
          RETURN;
        END IF;
        UPDATE streams s SET version = v_current + v_count, updated_at = now() WHERE s.stream_id = p_stream_id;
      END IF;
    ELSE
      UPDATE streams s SET version = v_current + v_count, updated_at = now() WHERE s.stream_id = p_stream_id;
    END IF;
  END IF;

  WITH inserted AS (
    INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, data, metadata)
    SELECT p_stream_id, v_current + u.ord, u.event_id, u.type, u.schema_version, u.data, u.metadata
      FROM unnest(p_event_ids, p_types, p_schema_versions, p_data, p_metadata)
           WITH ORDINALITY AS u(event_id, type, schema_version, data, metadata, ord)
     ORDER BY u.ord
    RETURNING global_position
  ), last AS (SELECT max(global_position) AS position FROM inserted)
  SELECT last.position INTO last_position FROM last, pg_notify(p_channel, last.position::text);
  outcome := 'appended';
  version := v_current + v_count;
  last_transaction_id := pg_current_xact_id()::text;
  detail := NULL;
  RETURN NEXT;
END;
$$`

/**
 * Migration 5: `repeat_outcome` and `append_events` with the same outcomes as migration 4's, made
 * safe on a store whose tables are still small or have no statistics.
 *
 * PL/pgSQL caches a generic plan for each statement of a function per connection (from its sixth
 * call). On a new store that plan is made while the tables hold a handful of rows and have never
 * been analyzed, so the planner takes sequential scans, and the connection keeps them until an
 * ANALYZE happens to invalidate them: the "is any id recorded?" probe then read the whole events
 * table on every append, slower and slower as the table grew. Every lookup in these functions is by a unique key, so they
 * run with `enable_seqscan = off`: an index plan whatever the statistics say.
 *
 * Names are qualified with the schema instead of `SET search_path FROM CURRENT`, which spares
 * each call a second setting to apply and undo.
 *
 * The append notifies only while some process holds a live lease in `listeners` (PgEventStore
 * takes one before it LISTENs): a NOTIFY takes a database-wide lock from before the commit until
 * after it, so notifying appends commit one at a time, and nobody heard them anyway.
 */
export const migration5RepeatOutcome = (schema: string) => `
CREATE OR REPLACE FUNCTION "${schema}".repeat_outcome(p_stream_id text, p_expected text, p_expected_version bigint, p_event_ids uuid[])
RETURNS TABLE (outcome text, version bigint, last_position bigint, last_transaction_id text, detail text)
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
  v_count integer := coalesce(array_length(p_event_ids, 1), 0);
  r record;
BEGIN
  SELECT count(*) AS found,
         bool_and(e.stream_id = p_stream_id) AS same_stream,
         min(e.stream_version - i.ord) AS min_offset,
         max(e.stream_version - i.ord) AS max_offset,
         (array_agg(e.event_id::text ORDER BY i.ord))[1] AS first_id,
         (array_agg(e.stream_id ORDER BY (e.stream_id = p_stream_id), i.ord))[1] AS other_stream,
         (array_agg(e.stream_version ORDER BY i.ord))[1] AS first_version,
         (array_agg(e.global_position ORDER BY i.ord DESC))[1] AS last_global,
         (array_agg(e.transaction_id::text ORDER BY i.ord DESC))[1] AS last_tx
    INTO r
    FROM unnest(p_event_ids) WITH ORDINALITY AS i(event_id, ord)
    JOIN "${schema}".events e ON e.event_id = i.event_id;
  IF r.found = 0 THEN
    RETURN;
  END IF;
  IF NOT r.same_stream THEN
    RETURN QUERY SELECT 'duplicate', 0::bigint, 0::bigint, '0',
      r.first_id || '|it is already recorded in stream ' || to_json(r.other_stream)::text;
  ELSIF r.found < v_count OR r.min_offset <> r.max_offset THEN
    RETURN QUERY SELECT 'duplicate', 0::bigint, 0::bigint, '0',
      r.first_id || '|it is already recorded at version ' || r.first_version
        || ', but the append is not an exact repeat of the append that recorded it';
  ELSIF "${schema}".version_satisfies(p_expected, p_expected_version, r.min_offset) THEN
    RETURN QUERY SELECT 'repeat', r.min_offset + v_count, r.last_global, r.last_tx, NULL::text;
  ELSE
    RETURN QUERY SELECT 'duplicate', 0::bigint, 0::bigint, '0',
      r.first_id || '|it is already recorded at version ' || r.first_version
        || ', by an append made when the stream was at version ' || r.min_offset || ', which '
        || CASE p_expected WHEN 'any' THEN 'any version' WHEN 'no_stream' THEN 'no stream'
             WHEN 'stream_exists' THEN 'an existing stream' ELSE 'version ' || p_expected_version END
        || ' does not match';
  END IF;
END;
$$`

/** Migration 5's `append_events` (see {@link migration5RepeatOutcome}). */
export const migration5Append = (schema: string) => `
CREATE OR REPLACE FUNCTION "${schema}".append_events(
  p_stream_id text,
  p_expected text,
  p_expected_version bigint,
  p_event_ids uuid[],
  p_types text[],
  p_schema_versions integer[],
  p_data jsonb[],
  p_metadata jsonb[],
  p_channel text
) RETURNS TABLE (outcome text, version bigint, last_position bigint, last_transaction_id text, detail text)
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
  v_count integer := coalesce(array_length(p_event_ids, 1), 0);
  v_current bigint;
  v_created boolean := false;
BEGIN
  IF v_count > 0 AND EXISTS (SELECT 1 FROM "${schema}".events e WHERE e.event_id = ANY (p_event_ids)) THEN
    RETURN QUERY SELECT * FROM "${schema}".repeat_outcome(p_stream_id, p_expected, p_expected_version, p_event_ids);
    IF FOUND THEN
      RETURN;
    END IF;
  END IF;

  IF v_count > 0 AND (p_expected = 'no_stream' OR (p_expected = 'exact' AND p_expected_version = 0)) THEN
    INSERT INTO "${schema}".streams AS s (stream_id, version) VALUES (p_stream_id, v_count) ON CONFLICT (stream_id) DO NOTHING;
    v_created := FOUND;
  END IF;
  IF v_created THEN
    v_current := 0;
  ELSE
    SELECT s.version INTO v_current FROM "${schema}".streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
    IF NOT FOUND THEN
      v_current := 0;
    END IF;
    IF NOT "${schema}".version_satisfies(p_expected, p_expected_version, v_current) THEN
      IF v_count > 0 THEN
        RETURN QUERY SELECT * FROM "${schema}".repeat_outcome(p_stream_id, p_expected, p_expected_version, p_event_ids);
        IF FOUND THEN
          RETURN;
        END IF;
      END IF;
      RETURN QUERY SELECT 'conflict', v_current, 0::bigint, '0', NULL::text;
      RETURN;
    END IF;
    IF v_count = 0 THEN
      RETURN QUERY SELECT 'empty', v_current,
        coalesce((SELECT e.global_position FROM "${schema}".events e WHERE e.stream_id = p_stream_id AND e.stream_version = v_current), 0),
        coalesce((SELECT e.transaction_id::text FROM "${schema}".events e WHERE e.stream_id = p_stream_id AND e.stream_version = v_current), '0'),
        NULL::text;
      RETURN;
    END IF;
    IF v_current = 0 THEN
      INSERT INTO "${schema}".streams AS s (stream_id, version) VALUES (p_stream_id, v_count) ON CONFLICT (stream_id) DO NOTHING;
      IF NOT FOUND THEN
        SELECT s.version INTO v_current FROM "${schema}".streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
        IF NOT "${schema}".version_satisfies(p_expected, p_expected_version, v_current) THEN
          RETURN QUERY SELECT * FROM "${schema}".repeat_outcome(p_stream_id, p_expected, p_expected_version, p_event_ids);
          IF FOUND THEN
            RETURN;
          END IF;
          RETURN QUERY SELECT 'conflict', v_current, 0::bigint, '0', NULL::text;
          RETURN;
        END IF;
        UPDATE "${schema}".streams s SET version = v_current + v_count, updated_at = now() WHERE s.stream_id = p_stream_id;
      END IF;
    ELSE
      UPDATE "${schema}".streams s SET version = v_current + v_count, updated_at = now() WHERE s.stream_id = p_stream_id;
    END IF;
  END IF;

  WITH inserted AS (
    INSERT INTO "${schema}".events (stream_id, stream_version, event_id, type, schema_version, data, metadata)
    SELECT p_stream_id, v_current + u.ord, u.event_id, u.type, u.schema_version, u.data, u.metadata
      FROM unnest(p_event_ids, p_types, p_schema_versions, p_data, p_metadata)
           WITH ORDINALITY AS u(event_id, type, schema_version, data, metadata, ord)
     ORDER BY u.ord
    RETURNING global_position
  )
  SELECT max(global_position) INTO last_position FROM inserted;
  -- NOTIFY serializes the commits of every notifying transaction in the database (measured: a
  -- quarter of the appends at 16 connections), so only when some process listens for appends.
  IF EXISTS (SELECT 1 FROM "${schema}".listeners l WHERE l.expires_at > now()) THEN
    PERFORM pg_notify(p_channel, last_position::text);
  END IF;
  outcome := 'appended';
  version := v_current + v_count;
  last_transaction_id := pg_current_xact_id()::text;
  detail := NULL;
  RETURN NEXT;
END;
$$`

/**
 * Migration 7's `repeat_outcome`: the decision follows the first of the appended ids that is
 * recorded (in append order), as the in-memory store's does, and names that id's own stream.
 * Migration 5's named the first recorded id but took the "other stream" from whichever recorded id
 * was elsewhere, so `[Y, X]` to S2 (Y in S2, X in S1) said Y "is already recorded in stream S1".
 * `SET` clauses replace the function's settings: `jit = off` (migration 6) is restated here.
 */
export const migration7RepeatOutcome = (schema: string) => `
CREATE OR REPLACE FUNCTION "${schema}".repeat_outcome(p_stream_id text, p_expected text, p_expected_version bigint, p_event_ids uuid[])
RETURNS TABLE (outcome text, version bigint, last_position bigint, last_transaction_id text, detail text)
LANGUAGE plpgsql
SET enable_seqscan = off
SET jit = off
AS $$
DECLARE
  v_count integer := coalesce(array_length(p_event_ids, 1), 0);
  r record;
BEGIN
  SELECT count(*) AS found,
         bool_and(e.stream_id = p_stream_id) AS same_stream,
         min(e.stream_version - i.ord) AS min_offset,
         max(e.stream_version - i.ord) AS max_offset,
         (array_agg(e.event_id::text ORDER BY i.ord))[1] AS first_id,
         (array_agg(e.stream_id ORDER BY i.ord))[1] AS first_stream,
         (array_agg(e.stream_version ORDER BY i.ord))[1] AS first_version,
         (array_agg(e.global_position ORDER BY i.ord DESC))[1] AS last_global,
         (array_agg(e.transaction_id::text ORDER BY i.ord DESC))[1] AS last_tx
    INTO r
    FROM unnest(p_event_ids) WITH ORDINALITY AS i(event_id, ord)
    JOIN "${schema}".events e ON e.event_id = i.event_id;
  IF r.found = 0 THEN
    RETURN;
  END IF;
  IF r.first_stream <> p_stream_id THEN
    RETURN QUERY SELECT 'duplicate', 0::bigint, 0::bigint, '0',
      r.first_id || '|it is already recorded in stream ' || to_json(r.first_stream)::text;
  ELSIF NOT r.same_stream OR r.found < v_count OR r.min_offset <> r.max_offset THEN
    RETURN QUERY SELECT 'duplicate', 0::bigint, 0::bigint, '0',
      r.first_id || '|it is already recorded at version ' || r.first_version
        || ', but the append is not an exact repeat of the append that recorded it';
  ELSIF "${schema}".version_satisfies(p_expected, p_expected_version, r.min_offset) THEN
    RETURN QUERY SELECT 'repeat', r.min_offset + v_count, r.last_global, r.last_tx, NULL::text;
  ELSE
    RETURN QUERY SELECT 'duplicate', 0::bigint, 0::bigint, '0',
      r.first_id || '|it is already recorded at version ' || r.first_version
        || ', by an append made when the stream was at version ' || r.min_offset || ', which '
        || CASE p_expected WHEN 'any' THEN 'any version' WHEN 'no_stream' THEN 'no stream'
             WHEN 'stream_exists' THEN 'an existing stream' ELSE 'version ' || p_expected_version END
        || ' does not match';
  END IF;
END;
$$`
