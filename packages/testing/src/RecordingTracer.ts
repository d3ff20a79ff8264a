/**
 * A tracer for tests that keeps every span it starts: its name, its attributes, its parent's
 * name, and how it ended. For asserting which spans an operation makes, how they nest, and what
 * they end with.
 *
 * @since 0.1.0
 */
import type { Context, Exit, Option } from "effect"
import { Tracer } from "effect"

/**
 * A span the tracer started.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedSpan {
  /** The span's name, such as `EventStore.append`. */
  readonly name: string
  /** The attributes given at the start and set later. */
  readonly attributes: ReadonlyMap<string, unknown>
  /** The parent span's name, when the parent is a span of this process. */
  readonly parent: string | undefined
  /** When the span started (nanoseconds, by the fiber's clock; 0 with timing disabled). */
  readonly startTime: bigint
  /** When and with which exit the span ended; `undefined` while it runs. */
  readonly ended: {
    /** When it ended (nanoseconds, by the fiber's clock). */
    readonly endTime: bigint
    /** The exit it ended with: the outcome of the effect the span wrapped. */
    readonly exit: Exit.Exit<unknown, unknown>
  } | undefined
}

/**
 * A tracer that appends every span it starts to `spans`, in start order. Use it with
 * `Effect.withTracer`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (spans: Array<RecordedSpan>): Tracer.Tracer =>
  Tracer.make({
    span: (name, parent: Option.Option<Tracer.AnySpan>, context: Context.Context<never>, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      const recorded: { -readonly [K in keyof RecordedSpan]: RecordedSpan[K] } = {
        name,
        attributes,
        parent: parent._tag === "Some" && parent.value._tag === "Span" ? parent.value.name : undefined,
        startTime,
        ended: undefined
      }
      spans.push(recorded)
      let status: Tracer.SpanStatus = { _tag: "Started", startTime }
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: crypto.randomUUID(),
        traceId: "trace",
        parent,
        context,
        get status() {
          return status
        },
        attributes,
        links: [...links],
        sampled: true,
        kind,
        end: (endTime: bigint, exit: Exit.Exit<unknown, unknown>) => {
          status = { _tag: "Ended", startTime, endTime, exit }
          recorded.ended = { endTime, exit }
        },
        attribute: (key, value) => void attributes.set(key, value),
        event: () => undefined,
        addLinks: () => undefined
      }
      return span
    },
    context: (f) => f()
  })
