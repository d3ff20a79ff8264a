/**
 * A typed dispatcher: a schema of tagged messages (a `Schema.Union` of commands or queries)
 * mapped to one handler per `_tag`. It decodes unknown input (JSON from an HTTP body, a queue
 * message) with the schema and hands the typed message to its handler.
 *
 * - The handler map is exhaustive at compile time: leaving a `_tag` out (or adding one the
 *   schema does not have) is a type error, and `make` also checks it at run time.
 * - Input that is not one of the schema's messages fails with `UnknownTag` (its `_tag` is not
 *   one of the schema's) or `MalformedInput` (the issues Schema found, path by path).
 *
 * @since 0.1.0
 */
import { Data, Effect, Either, ParseResult, Schema, SchemaAST } from "effect"

/**
 * The input's `_tag` is not one the dispatcher knows.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownTag extends Data.TaggedError("UnknownTag")<{
  readonly tag: string
  readonly known: ReadonlyArray<string>
}> {
  override get message() {
    return `Unknown message type ${JSON.stringify(this.tag)}; expected one of ${this.known.join(", ")}`
  }
}

/**
 * One problem Schema found in the input: where, and what.
 *
 * @since 0.1.0
 * @category models
 */
export interface Issue {
  /** The path to the offending value, such as `metadata.priority` (empty for the input itself). */
  readonly path: string
  readonly message: string
}

/**
 * The input is not a valid message: not an object with a string `_tag`, or a known message
 * with missing or invalid fields.
 *
 * @since 0.1.0
 * @category errors
 */
export class MalformedInput extends Data.TaggedError("MalformedInput")<{
  /** The input's `_tag`, when it had one. */
  readonly tag: string | undefined
  readonly issues: ReadonlyArray<Issue>
}> {
  override get message() {
    const what = this.tag === undefined ? "The input" : `The ${this.tag} message`
    const issues = this.issues.map((issue) => (issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`))
    return `${what} is malformed: ${issues.join("; ")}`
  }
}

/**
 * What decoding input can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type DispatchError = UnknownTag | MalformedInput

/**
 * One handler per `_tag` of `A`, each receiving its own message type.
 *
 * @since 0.1.0
 * @category models
 */
export type Handlers<A extends { readonly _tag: string }> = {
  readonly [K in A["_tag"]]: (message: Extract<A, { readonly _tag: K }>) => Effect.Effect<unknown, unknown, unknown>
}

/**
 * What handler `K` of `H` succeeds with.
 *
 * @since 0.1.0
 * @category models
 */
export type SuccessOf<H, K extends keyof H> = H[K] extends
  (message: never) => Effect.Effect<infer A, infer _E, infer _R> ? A
  : never

/**
 * What handler `K` of `H` fails with.
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorOf<H, K extends keyof H> = H[K] extends
  (message: never) => Effect.Effect<infer _A, infer E, infer _R> ? E
  : never

/**
 * What handler `K` of `H` needs.
 *
 * @since 0.1.0
 * @category models
 */
export type ContextOf<H, K extends keyof H> = H[K] extends
  (message: never) => Effect.Effect<infer _A, infer _E, infer R> ? R
  : never

/**
 * A dispatcher for messages `A` with handlers `H`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Dispatcher<A extends { readonly _tag: string }, H extends Handlers<A>> {
  /** The message types it knows, in schema order. */
  readonly tags: ReadonlyArray<A["_tag"]>
  /** Decodes unknown input into a message. */
  readonly decode: (input: unknown) => Effect.Effect<A, DispatchError>
  /** Runs a typed message's handler; the result type is that handler's. */
  readonly run: <M extends A>(
    message: M
  ) => Effect.Effect<SuccessOf<H, M["_tag"]>, ErrorOf<H, M["_tag"]>, ContextOf<H, M["_tag"]>>
  /** Decodes unknown input and runs its handler. */
  readonly dispatch: (
    input: unknown
  ) => Effect.Effect<SuccessOf<H, A["_tag"]>, ErrorOf<H, A["_tag"]> | DispatchError, ContextOf<H, A["_tag"]>>
}

/** The string `_tag` literals of a schema of tagged structs (or a union of them). */
const tagsOf = (ast: SchemaAST.AST): ReadonlyArray<string> => {
  const type = SchemaAST.typeAST(ast)
  const members = SchemaAST.isUnion(type) ? type.types : [type]
  return members.flatMap((member) => {
    const tag = SchemaAST.getPropertySignatures(member).find((signature) => signature.name === "_tag")
    return tag !== undefined && SchemaAST.isLiteral(tag.type) && typeof tag.type.literal === "string"
      ? [tag.type.literal]
      : []
  })
}

const pathOf = (path: ReadonlyArray<PropertyKey>): string => path.map(String).join(".")

/**
 * Builds a dispatcher from a schema of tagged messages and one handler per `_tag`. Throws at
 * definition time when a `_tag` has no handler (possible only by defeating the types).
 *
 * @example
 * const commands = Dispatcher.make(JobCommand, {
 *   CreateJob: (command) => handle(command),
 *   StartJob: (command) => handle(command),
 *   // … one entry per command; a missing one does not compile
 * })
 * commands.dispatch(JSON.parse(body))
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <
  A extends { readonly _tag: string },
  I,
  const H extends Handlers<A>
>(
  schema: Schema.Schema<A, I, never>,
  handlers: H & { readonly [K in Exclude<keyof H, A["_tag"]>]: never }
): Dispatcher<A, H> => {
  const tags = tagsOf(schema.ast) as ReadonlyArray<A["_tag"]>
  const missing = tags.filter((tag) => typeof (handlers as Record<string, unknown>)[tag] !== "function")
  if (missing.length > 0) throw new TypeError(`Dispatcher.make: no handler for ${missing.join(", ")}`)
  const known = new Set<string>(tags)
  const decodeMessage = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })

  const decode = (input: unknown): Effect.Effect<A, DispatchError> => {
    const tag = typeof input === "object" && input !== null && "_tag" in input ? input._tag : undefined
    if (typeof tag !== "string") {
      return Effect.fail(
        new MalformedInput({ tag: undefined, issues: [{ path: "_tag", message: "a message needs a string _tag" }] })
      )
    }
    if (!known.has(tag)) return Effect.fail(new UnknownTag({ tag, known: tags }))
    return Either.match(decodeMessage(input), {
      onRight: Effect.succeed,
      onLeft: (error) =>
        Effect.fail(
          new MalformedInput({
            tag,
            issues: ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
              path: pathOf(issue.path),
              message: issue.message
            }))
          })
        )
    })
  }

  const run = <M extends A>(message: M) => {
    const handler = handlers[message._tag as keyof H] as (message: M) => Effect.Effect<unknown, unknown, unknown>
    return handler(message) as Effect.Effect<SuccessOf<H, M["_tag"]>, ErrorOf<H, M["_tag"]>, ContextOf<H, M["_tag"]>>
  }

  return {
    tags,
    decode,
    run,
    dispatch: (input) => Effect.flatMap(decode(input), run)
  }
}
