/**
 * Event catalogs: the domain events of an aggregate or bounded context, with the history of
 * each event type's schema (upcasters) and renamed types. A catalog encodes domain events for
 * appending and decodes stored events — of any past schema version — into today's types.
 *
 * Stored payloads keep the form they were written in: a stored event carries its type and the
 * schema version it was encoded with, and decoding runs that version's chain of
 * `Schema.transform`s up to the current type. Old events are never rewritten.
 *
 * @since 0.1.0
 */
import { Data, Effect, Either, JSONSchema, ParseResult, Schema, SchemaAST, Stream } from "effect"
import * as EventStore from "./EventStore.js"
import { depthCeiling, inexactness, prototypeKeyPath } from "./internal/exactJson.js"
import type { FastDecode } from "./internal/fastDecode.js"
import { compile as compileFastDecode, invalid } from "./internal/fastDecode.js"
import { currentName, withTag } from "./internal/storedPayload.js"
import type { EventMetadata, NewEvent, RecordedEvent } from "./RecordedEvent.js"

// ---------------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------------

/**
 * A stored event did not decode into the current type of its event type (its payload no
 * longer matches the schema of its version, or its version is newer than this code knows).
 * The stored event is untouched.
 *
 * @since 0.1.0
 * @category errors
 */
export class EventDecodeError extends Data.TaggedError("EventDecodeError")<{
  /** The stream the event belongs to. */
  readonly streamId: string
  /** The event's version in its stream. */
  readonly streamVersion: number
  /** The event's position in the global log. */
  readonly globalPosition: bigint
  /** The event's id. */
  readonly eventId: string
  /** The event type name as stored. */
  readonly type: string
  /** The schema version the payload was stored with. */
  readonly schemaVersion: number
  /** The parse issue, formatted for a person. */
  readonly issue: string
  /** The schema's `ParseError`; absent when the version is unknown or the payload is not an object. */
  readonly cause?: unknown
}> {
  /** Names the event's type, schema version, stream, version and global position, then the issue. */
  override get message(): string {
    return `Event ${JSON.stringify(this.type)} (schema version ${this.schemaVersion}) at stream ${
      JSON.stringify(this.streamId)
    } version ${this.streamVersion}, global position ${this.globalPosition}, does not decode:\n${this.issue}`
  }
}

/**
 * A stored event's type is not in the catalog (neither a current type nor a renamed one).
 * The stored event is untouched.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownEventType extends Data.TaggedError("UnknownEventType")<{
  /** The stream the event belongs to. */
  readonly streamId: string
  /** The event's version in its stream. */
  readonly streamVersion: number
  /** The event's position in the global log. */
  readonly globalPosition: bigint
  /** The event's id. */
  readonly eventId: string
  /** The stored type name the catalog does not know. */
  readonly type: string
  /** The current type names the catalog knows (renamed ones not included). */
  readonly knownTypes: ReadonlyArray<string>
}> {
  /** Names the unknown type, where the event is, and the types the catalog knows. */
  override get message(): string {
    return `Unknown event type ${JSON.stringify(this.type)} at stream ${
      JSON.stringify(this.streamId)
    } version ${this.streamVersion}, global position ${this.globalPosition}; the catalog knows ${
      this.knownTypes.join(", ")
    }`
  }
}

/**
 * A domain event did not encode with its schema: a bug in the code that built it (for example
 * a value that breaks a refinement), or its encoded form holds a value JSON cannot carry
 * exactly (`NaN` in a `Schema.Number` field, say; the issue names its path, as in
 * `data.readings[3] is NaN`). Nothing was appended.
 *
 * @since 0.1.0
 * @category errors
 */
export class EventEncodeError extends Data.TaggedError("EventEncodeError")<{
  /** The event type name (the domain event's `_tag`). */
  readonly type: string
  /** Why it did not encode, formatted for a person. */
  readonly issue: string
  /** The schema's `ParseError`; absent when the catalog has no such event type. */
  readonly cause?: unknown
}> {
  /** Names the event type, then the issue. */
  override get message(): string {
    return `Event ${JSON.stringify(this.type)} does not encode:\n${this.issue}`
  }
}

/**
 * Everything decoding a stored event can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type DecodeError = EventDecodeError | UnknownEventType

// ---------------------------------------------------------------------------------------------
// histories (upcasting)
// ---------------------------------------------------------------------------------------------

/**
 * A domain event schema: a schema without requirements whose decoded type has a string `_tag`,
 * the event type's name (`Schema.TaggedStruct` or `Schema.TaggedClass`).
 *
 * @since 0.1.0
 * @category models
 */
export type EventSchema = Schema.Schema.AnyNoContext

/**
 * Marks a value as an event type's {@link History} (what `history(...)` returns).
 *
 * @since 0.1.0
 * @category symbols
 */
export const HistoryTypeId: unique symbol = Symbol.for("@facta/core/EventCatalog/History")

/**
 * The type of {@link HistoryTypeId}.
 *
 * @since 0.1.0
 * @category symbols
 */
export type HistoryTypeId = typeof HistoryTypeId

/**
 * The schema history of one event type: `versions[k - 1]` decodes a payload stored with schema
 * version `k` into the current type `A`. The last entry is the current schema.
 *
 * @since 0.1.0
 * @category models
 */
export interface History<A extends { readonly _tag: string }, I = unknown> {
  /** Marks the value as a history. */
  readonly [HistoryTypeId]: typeof HistoryTypeId
  /** The current schema, the last version: stored events decode into its type, new ones encode with it. */
  readonly current: Schema.Schema<A, I, never>
  /** Each stored version's decoder into `A` (their encoded forms differ from version to version). */
  readonly versions: ReadonlyArray<Schema.Schema.AnyNoContext>
  /** Each version's own schema and the upcast from it to the next (for compiled decoding). */
  readonly steps: ReadonlyArray<HistoryStep>
  /**
   * Adds the next version: `upcast` turns a value of the current version into the encoded form
   * of `next`. Every older version now decodes through this step too.
   */
  readonly upcast: <B extends { readonly _tag: string }, J>(
    next: Schema.Schema<B, J, never>,
    upcast: (previous: A) => J
  ) => History<B, J>
}

const upcastStep = <A, I, B, J>(
  from: Schema.Schema<A, I, never>,
  to: Schema.Schema<B, J, never>,
  upcast: (a: A) => J
): Schema.Schema<B, I, never> =>
  Schema.transformOrFail(from, to, {
    strict: true,
    decode: (a, _, ast) => {
      try {
        return ParseResult.succeed(upcast(a))
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error)
        return ParseResult.fail(new ParseResult.Type(ast, a, `the upcaster threw: ${reason}`))
      }
    },
    encode: (value, _, ast) =>
      ParseResult.fail(new ParseResult.Forbidden(ast, value, "stored events are never downcast to older versions"))
  })

/**
 * One version of an event type as declared: its schema and, for all but the current version,
 * the function that upcasts its decoded value to the next version's encoded form.
 *
 * @since 0.1.0
 * @category models
 */
export interface HistoryStep {
  /** The version's own schema, as declared. */
  readonly schema: Schema.Schema.AnyNoContext
  /** Fed only values the step's own schema decoded. */
  readonly upcast: ((previous: unknown) => unknown) | undefined
}

const makeHistory = <A extends { readonly _tag: string }, I>(
  versions: ReadonlyArray<Schema.Schema.AnyNoContext>,
  current: Schema.Schema<A, I, never>,
  steps: ReadonlyArray<HistoryStep>
): History<A, I> => ({
  [HistoryTypeId]: HistoryTypeId,
  current,
  versions,
  steps,
  upcast: (next, upcast) =>
    makeHistory(
      [...versions.map((version) => upcastStep(version as Schema.Schema<A, unknown, never>, next, upcast)), next],
      next,
      [
        ...steps.slice(0, -1),
        // The chain only hands `upcast` values that `current` decoded, so they are `A`s.
        { schema: current, upcast: upcast as (previous: unknown) => unknown },
        { schema: next, upcast: undefined }
      ]
    )
})

/**
 * A compiled decoder for a payload stored at `steps[0]`'s version: decode it, upcast, decode the
 * next version, … — when every schema on the way compiles (see internal/fastDecode). An upcast
 * that throws falls back to Schema, which reports it as it always does.
 */
const compileChain = (steps: ReadonlyArray<HistoryStep>, encodedTag: string | undefined): FastDecode | undefined => {
  const decoders: Array<FastDecode> = []
  for (const [index, step] of steps.entries()) {
    const tag = index === 0 && encodedTag !== undefined ? { name: "_tag", value: encodedTag } : undefined
    const decoder = compileFastDecode(step.schema.ast, tag)
    if (decoder === undefined) return undefined
    decoders.push(decoder)
  }
  if (decoders.length === 1) return decoders[0]
  return (input) => {
    try {
      let value = decoders[0](input)
      for (let index = 1; index < decoders.length && value !== invalid; index++) {
        value = decoders[index](steps[index - 1].upcast!(value))
      }
      return value
    } catch {
      return invalid
    }
  }
}

/**
 * Starts the history of an event type at its first schema version. Chain `.upcast(next, f)` for
 * every later version; the last one is the current type.
 *
 * @example
 * const DepositedHistory = EventCatalog.history(DepositedV1)
 *   .upcast(DepositedV2, (v1) => ({ ...v1, currency: "EUR" }))
 *   .upcast(Deposited, (v2) => ({ ...v2, amountCents: v2.amount * 100 }))
 *
 * @since 0.1.0
 * @category constructors
 */
export const history = <A extends { readonly _tag: string }, I>(first: Schema.Schema<A, I, never>): History<A, I> =>
  makeHistory([first], first, [{ schema: first, upcast: undefined }])

// ---------------------------------------------------------------------------------------------
// catalog
// ---------------------------------------------------------------------------------------------

/**
 * An entry of a catalog: an event schema (one version) or an event history.
 *
 * @since 0.1.0
 * @category models
 */
export type Entry = EventSchema | AnyHistory

/**
 * Any event history. `History` is invariant in its types (a schema is), so no narrower type
 * admits every history; `EventOf` recovers the precise event type.
 *
 * @since 0.1.0
 * @category models
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHistory = History<any, any>

/**
 * The decoded domain event type of a list of entries.
 *
 * @since 0.1.0
 * @category models
 */
export type EventOf<Entries extends ReadonlyArray<Entry>> = {
  [K in keyof Entries]: Entries[K] extends History<infer A, infer _I> ? A
    : Entries[K] extends Schema.Schema<infer A, infer _I, never> ? A
    : never
}[number]

interface VersionCodec {
  /** The `_tag` the version's encoded form expects, injected before decoding (payloads are stored without it). */
  readonly encodedTag: string | undefined
  readonly decode: (input: unknown) => Either.Either<unknown, ParseResult.ParseError>
  /** A compiled decoder for plain schemas (see internal/fastDecode); `undefined` when the schema needs Schema. */
  readonly fast: FastDecode | undefined
}

interface TypeCodec {
  readonly name: string
  readonly versions: ReadonlyArray<VersionCodec>
  /** Each stored version's own schema, as declared (index 0 is version 1). */
  readonly schemas: ReadonlyArray<Schema.Schema.AnyNoContext>
  readonly encode: (event: unknown) => Either.Either<unknown, ParseResult.ParseError>
}

/**
 * A catalog of domain events `E`.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventCatalog<E extends { readonly _tag: string }> {
  /** Marks the value as an event catalog. */
  readonly _tag: "EventCatalog"
  /** The union of the current schemas: for `Arbitrary.make`, JSON Schema, and validation. */
  readonly schema: Schema.Schema<E, unknown, never>
  /** The current event type names. */
  readonly types: ReadonlyArray<E["_tag"]>
  /** Old stored type names and the current names they read as. */
  readonly renames: Readonly<Record<string, string>>
  /** @internal */
  readonly codecs: ReadonlyMap<string, TypeCodec>
}

const encodedTagOf = (schema: Schema.Schema.Any): string | undefined => {
  const ast = SchemaAST.encodedAST(schema.ast)
  if (!SchemaAST.isTypeLiteral(ast)) return undefined
  const tag = ast.propertySignatures.find((signature) => signature.name === "_tag")
  return tag !== undefined && SchemaAST.isLiteral(tag.type) && typeof tag.type.literal === "string"
    ? tag.type.literal
    : undefined
}

const typeTagOf = (schema: Schema.Schema.Any): string | undefined => {
  const ast = SchemaAST.typeAST(schema.ast)
  const signatures = SchemaAST.isTypeLiteral(ast) ? ast.propertySignatures : SchemaAST.getPropertySignatures(ast)
  const tag = signatures.find((signature) => signature.name === "_tag")
  return tag !== undefined && SchemaAST.isLiteral(tag.type) && typeof tag.type.literal === "string"
    ? tag.type.literal
    : encodedTagOf(schema)
}

const isHistory = (entry: Entry): entry is AnyHistory =>
  typeof entry === "object" && entry !== null && HistoryTypeId in entry

/**
 * Builds a catalog from event schemas (each at schema version 1) and histories.
 * `renames` maps old stored type names to current ones. Throws at definition time when two
 * entries share a name, a schema has no string `_tag`, or a rename points nowhere.
 *
 * @example
 * const BankEvents = EventCatalog.make([Opened, DepositedHistory, Withdrawn, Closed], {
 *   renames: { MoneyDeposited: "Deposited" }
 * })
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <const Entries extends ReadonlyArray<Entry>>(
  entries: Entries,
  options: { readonly renames?: Readonly<Record<string, string>> } = {}
): EventCatalog<Extract<EventOf<Entries>, { readonly _tag: string }>> => {
  const codecs = new Map<string, TypeCodec>()
  const currents: Array<Schema.Schema.Any> = []
  for (const entry of entries) {
    const versions = isHistory(entry) ? entry.versions : [entry]
    const steps: ReadonlyArray<HistoryStep> = isHistory(entry) ? entry.steps : [{ schema: entry, upcast: undefined }]
    const current = isHistory(entry) ? entry.current : entry
    const name = typeTagOf(current)
    if (name === undefined) {
      throw new TypeError(
        "EventCatalog.make: every event schema needs a string literal `_tag` (use Schema.TaggedStruct)"
      )
    }
    if (codecs.has(name)) throw new TypeError(`EventCatalog.make: the event type ${name} is listed twice`)
    codecs.set(name, {
      name,
      versions: versions.map((version, index) => {
        const encodedTag = encodedTagOf(version)
        return {
          encodedTag,
          decode: Schema.decodeUnknownEither(version),
          fast: compileChain(steps.slice(index), encodedTag)
        }
      }),
      schemas: steps.map((step) => step.schema),
      encode: Schema.encodeUnknownEither(current as Schema.Schema<unknown, unknown, never>)
    })
    currents.push(current)
  }
  const renames = { ...options.renames }
  for (const [from, to] of Object.entries(renames)) {
    if (!codecs.has(to)) throw new TypeError(`EventCatalog.make: the rename ${from} -> ${to} points to no event type`)
    if (codecs.has(from)) throw new TypeError(`EventCatalog.make: ${from} is both a current type and a rename`)
  }
  return {
    _tag: "EventCatalog",
    // The union's decoded type is the union of the entries' types, which `EventOf` computes.
    schema: Schema.Union(...currents) as unknown as Schema.Schema<
      Extract<EventOf<Entries>, { readonly _tag: string }>,
      unknown,
      never
    >,
    types: [...codecs.keys()],
    renames,
    codecs
  }
}

const formatIssue = (error: ParseResult.ParseError): string => ParseResult.TreeFormatter.formatErrorSync(error)

const locate = (recorded: RecordedEvent) => ({
  streamId: recorded.streamId,
  streamVersion: recorded.streamVersion,
  globalPosition: recorded.globalPosition,
  eventId: recorded.eventId,
  type: recorded.type
})

const decodeFailure = (recorded: RecordedEvent, issue: string, cause?: ParseResult.ParseError) =>
  new EventDecodeError({
    ...locate(recorded),
    schemaVersion: recorded.schemaVersion,
    issue,
    ...(cause === undefined ? {} : { cause })
  })

/**
 * Decodes the payload of a stored event into the current domain event, running upcasters for
 * old schema versions and resolving renamed types. Returns just the event: the cheapest way to
 * fold a stream.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeData = <E extends { readonly _tag: string }>(catalog: EventCatalog<E>) => {
  const decodeOne = decodeDataOrError(catalog)
  return (recorded: RecordedEvent): Either.Either<E, DecodeError> => {
    const decoded = decodeOne(recorded)
    return decoded instanceof EventDecodeError || decoded instanceof UnknownEventType
      ? Either.left(decoded)
      : Either.right(decoded)
  }
}

/**
 * {@link decodeData} without the `Either`: the event, or the error as a value. For hot loops
 * (folding a stream) that test `instanceof` themselves.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeDataOrError =
  <E extends { readonly _tag: string }>(catalog: EventCatalog<E>) => (recorded: RecordedEvent): E | DecodeError => {
    const codec = catalog.codecs.get(currentName(catalog.renames, recorded.type))
    if (codec === undefined) {
      return new UnknownEventType({ ...locate(recorded), knownTypes: catalog.types })
    }
    const version = codec.versions[recorded.schemaVersion - 1]
    if (version === undefined) {
      return decodeFailure(
        recorded,
        `schema version ${recorded.schemaVersion} is not known here: ${codec.name} has versions 1 to ${codec.versions.length}`
      )
    }
    const payload = recorded.data
    if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
      return decodeFailure(
        recorded,
        `the stored payload is ${Array.isArray(payload) ? "an array" : String(payload)}, not an object`
      )
    }
    if (version.fast !== undefined) {
      const value = version.fast(payload)
      if (value !== invalid) return value as E
    }
    const protoKey = prototypeKeyPath(payload, "data")
    if (protoKey !== undefined) {
      return decodeFailure(
        recorded,
        `the stored payload has a "__proto__" key at ${protoKey}, which decoding would turn into a prototype`
      )
    }
    const decoded = version.decode(withTag(payload, version.encodedTag))
    return Either.isLeft(decoded)
      ? decodeFailure(recorded, formatIssue(decoded.left), decoded.left)
      : decoded.right as E
  }

/**
 * Decodes a stored event into the current domain event, running upcasters for old schema
 * versions and resolving renamed types; the envelope is kept.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = <E extends { readonly _tag: string }>(catalog: EventCatalog<E>) => {
  const run = decodeData(catalog)
  return (recorded: RecordedEvent): Either.Either<RecordedEvent<E>, DecodeError> =>
    Either.map(run(recorded), (data) => ({ ...recorded, data }))
}

/**
 * Decodes a stored event as an Effect (see {@link decode}).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeEffect = <E extends { readonly _tag: string }>(catalog: EventCatalog<E>) => {
  const run = decode(catalog)
  return (recorded: RecordedEvent): Effect.Effect<RecordedEvent<E>, DecodeError> =>
    Either.match(run(recorded), { onLeft: Effect.fail, onRight: Effect.succeed })
}

/**
 * An encoded domain event: its type name, JSON payload (without `_tag`) and schema version.
 *
 * @since 0.1.0
 * @category models
 */
export interface EncodedEvent {
  /** The event type name (the domain event's `_tag`). */
  readonly type: string
  /** The JSON payload, without `_tag`. */
  readonly data: Readonly<Record<string, unknown>>
  /** The schema version it was encoded with: the type's current one (1-based). */
  readonly schemaVersion: number
}

/**
 * Encodes a domain event with the current schema of its type.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode =
  <E extends { readonly _tag: string }>(catalog: EventCatalog<E>) =>
  (event: E): Either.Either<EncodedEvent, EventEncodeError> => {
    const codec = catalog.codecs.get(event._tag)
    if (codec === undefined) {
      return Either.left(
        new EventEncodeError({ type: String(event._tag), issue: `the catalog has no event type ${String(event._tag)}` })
      )
    }
    const encoded = codec.encode(event)
    if (Either.isLeft(encoded)) {
      return Either.left(
        new EventEncodeError({ type: codec.name, issue: formatIssue(encoded.left), cause: encoded.left })
      )
    }
    // Checked here too, not only by the store: a NaN in a `Schema.Number` field encodes, but would
    // be stored as null and never decode again.
    const inexact = inexactness(encoded.right, "data", depthCeiling)
    if (inexact !== undefined) return Either.left(new EventEncodeError({ type: codec.name, issue: inexact }))
    const { _tag, ...data } = encoded.right as Record<string, unknown>
    return Either.right({ type: codec.name, data, schemaVersion: codec.versions.length })
  }

/**
 * Encodes a domain event into a `NewEvent` ready to append, with a fresh UUID unless one is given.
 *
 * @since 0.1.0
 * @category encoding
 */
export const toNewEvent = <E extends { readonly _tag: string }>(catalog: EventCatalog<E>) => {
  const run = encode(catalog)
  return (
    event: E,
    metadata: EventMetadata = {},
    eventId: string = crypto.randomUUID()
  ): Effect.Effect<NewEvent, EventEncodeError> =>
    Either.match(run(event), {
      onLeft: Effect.fail,
      onRight: (encoded) => Effect.succeed({ eventId, metadata, ...encoded })
    })
}

/**
 * Reads one stream and decodes every event through the catalog.
 *
 * @since 0.1.0
 * @category reading
 */
export const readStream = <E extends { readonly _tag: string }>(
  catalog: EventCatalog<E>,
  streamId: string,
  options?: EventStore.ReadStreamOptions
): Stream.Stream<RecordedEvent<E>, EventStore.ReadError | DecodeError, EventStore.EventStore> =>
  EventStore.readStream(streamId, options).pipe(Stream.mapEffect(decodeEffect(catalog)))

/**
 * Reads the global log, keeping the events of the catalog's types (current and renamed) and
 * decoding them.
 *
 * @since 0.1.0
 * @category reading
 */
export const readAll = <E extends { readonly _tag: string }>(
  catalog: EventCatalog<E>,
  options: EventStore.ReadAllOptions = {}
): Stream.Stream<RecordedEvent<E>, EventStore.EventStoreUnavailable | DecodeError, EventStore.EventStore> =>
  EventStore.readAll({ ...options, filter: withCatalogTypes(catalog, options.filter) }).pipe(
    Stream.mapEffect(decodeEffect(catalog))
  )

/**
 * Subscribes to the global log (catch-up, then live), keeping and decoding the catalog's types.
 *
 * @since 0.1.0
 * @category reading
 */
export const subscribe = <E extends { readonly _tag: string }>(
  catalog: EventCatalog<E>,
  options: EventStore.SubscribeOptions = {}
): Stream.Stream<RecordedEvent<E>, EventStore.EventStoreUnavailable | DecodeError, EventStore.EventStore> =>
  EventStore.subscribe({ ...options, filter: withCatalogTypes(catalog, options.filter) }).pipe(
    Stream.mapEffect(decodeEffect(catalog))
  )

/**
 * Every stored type name the catalog reads: current names and renamed ones.
 *
 * @since 0.1.0
 * @category accessors
 */
export const storedTypes = <E extends { readonly _tag: string }>(catalog: EventCatalog<E>): ReadonlyArray<string> => [
  ...catalog.types,
  ...Object.keys(catalog.renames)
]

/**
 * One version of an event type as a release stored it: for tools that generate the payloads
 * older releases wrote, such as `@facta/testing`'s upcaster law.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredVersion {
  /** The current type name. */
  readonly type: string
  /** The schema version (1-based; the highest is the current one). */
  readonly schemaVersion: number
  /** The version's own schema, as declared: its encoded form (without `_tag`) is what was stored. */
  readonly schema: Schema.Schema.AnyNoContext
}

/**
 * Every version of every event type the catalog decodes, oldest first within a type.
 *
 * @since 0.1.0
 * @category accessors
 */
export const storedVersions = <E extends { readonly _tag: string }>(
  catalog: EventCatalog<E>
): ReadonlyArray<StoredVersion> =>
  [...catalog.codecs.values()].flatMap((codec) =>
    codec.schemas.map((schema, index) => ({ type: codec.name, schemaVersion: index + 1, schema }))
  )

const withCatalogTypes = <E extends { readonly _tag: string }>(
  catalog: EventCatalog<E>,
  filter: EventStore.EventFilter = {}
): EventStore.EventFilter => {
  const types = storedTypes(catalog)
  return { ...filter, types: filter.types === undefined ? types : filter.types.filter((t) => types.includes(t)) }
}

/**
 * The JSON Schema of the current encoded events, for documentation and other languages.
 *
 * @since 0.1.0
 * @category documentation
 */
export const jsonSchema = <E extends { readonly _tag: string }>(catalog: EventCatalog<E>): JSONSchema.JsonSchema7Root =>
  JSONSchema.make(catalog.schema)
