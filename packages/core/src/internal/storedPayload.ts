/**
 * How catalogs read what a store holds: names and payloads come from data, so nothing here may
 * see `Object.prototype`'s members (an event type named `constructor` or `__proto__` is a name
 * like any other) or treat a `"__proto__"` key as a prototype.
 */

/** The current type name a stored one reads as: its rename, if it has one of its own. */
export const currentName = (renames: Readonly<Record<string, string>>, stored: string): string =>
  Object.hasOwn(renames, stored) ? renames[stored] : stored

/**
 * A stored payload with its `_tag` put back (payloads are stored without it), `_tag` first so
 * that every event of a type gets one shape. Spread defines properties where `Object.assign`
 * would assign them, so a `"__proto__"` key stays a key.
 */
export const withTag = (payload: object, tag: string | undefined): object =>
  tag === undefined ? payload : { _tag: tag, ...payload }
