/**
 * Filters over the global log: which categories and event types a read, a subscription or a
 * projection selects. A ground-floor module: it imports no other Facta module but `StreamId`.
 *
 * @since 0.1.0
 */
import * as StreamId from "./StreamId.js"

/**
 * Selects events of the global log. An event passes when its category is one of `categories`
 * (when given) and its type is one of `types` (when given).
 *
 * @since 0.1.0
 * @category models
 */
export interface EventFilter {
  /** The stream categories to keep (a stream id's text before its first `-`); every category when absent. */
  readonly categories?: ReadonlyArray<string>
  /** The event type names to keep, as stored; every type when absent. */
  readonly types?: ReadonlyArray<string>
}

/**
 * Whether an event passes a filter.
 *
 * @since 0.1.0
 * @category filters
 */
export const matches = (filter: EventFilter, event: { readonly streamId: string; readonly type: string }): boolean =>
  (filter.categories === undefined || filter.categories.includes(StreamId.category(event.streamId))) &&
  (filter.types === undefined || filter.types.includes(event.type))
