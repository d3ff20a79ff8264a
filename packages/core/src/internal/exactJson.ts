/**
 * JSON text that reads back as exactly the value it was made from, or the reason there is none.
 *
 * `JSON.stringify` changes values silently (`NaN` and `±Infinity` become `null`, `-0` becomes
 * `0`, `undefined` fields and functions vanish, a `Date` becomes its `toJSON()` string, a `Map`
 * becomes `{}`). So a walk checks the value first (allocating only the list of each object's
 * symbol keys, and the path once it finds a problem), and only then does the native
 * `JSON.stringify` write it. What the walk cannot see cheaply
 * (a NUL character or a lone surrogate, which PostgreSQL cannot store) shows in the text as a
 * `\u` escape, and is looked for there.
 */

/** The limits a value's JSON must keep to. */
export interface Limits {
  /** The most UTF-8 bytes its JSON text may take. */
  readonly maxBytes: number
  /** How many objects and arrays may enclose its deepest value. */
  readonly maxDepth: number
}

/** How deeply the walk may recurse whatever the limits say (it recurses once per level). */
export const depthCeiling = 1_000

/** Why a value has no exact JSON text. */
export class Inexact {
  constructor(readonly reason: string) {}
}

/** What the walk found, and where: keys and holders are collected innermost first on the way out. */
interface Found {
  readonly what: string
  readonly tooDeep: boolean
  readonly keys: Array<string | number>
  readonly holders: Array<object>
}

const found = (what: string, tooDeep = false): Found => ({ what, tooDeep, keys: [], holders: [] })

const describeNumber = (value: number): string =>
  value === 0
    ? "is -0, which JSON stores as 0"
    : value !== value
    ? "is NaN, which JSON cannot carry"
    : `is ${value > 0 ? "Infinity" : "-Infinity"}, which JSON cannot carry`

const describePrototype = (value: object, prototype: object): string => {
  if (value instanceof Date) return "is a Date: store its ISO string (Schema.Date encodes it so)"
  if (value instanceof Map) return "is a Map, which JSON writes as {}"
  if (value instanceof Set) return "is a Set, which JSON writes as {}"
  if (Object.getPrototypeOf(prototype) === Object.prototype || Object.getPrototypeOf(prototype) === null) {
    if (!Object.hasOwn(prototype, "constructor")) {
      return "has a plain object as its prototype (a \"__proto__\" key set it?), whose fields JSON would drop"
    }
  }
  const name = typeof prototype.constructor === "function" ? prototype.constructor.name : ""
  return `is ${name === "" ? "an object with a prototype" : `an instance of ${name}`}, not a plain object or array`
}

/** The first value under `value` that JSON would change, or undefined. */
const check = (value: unknown, depth: number, maxDepth: number): Found | undefined => {
  // The common cases first, with no call: this runs once per value of every appended payload.
  const type = typeof value
  if (type === "string" || type === "boolean") return undefined
  if (type === "number") {
    // `x - x` is NaN for NaN and ±Infinity; `1 / -0` is -Infinity.
    return (value as number) - (value as number) === 0 && (value !== 0 || 1 / (value as number) > 0)
      ? undefined
      : found(describeNumber(value as number))
  }
  if (type === "object") return value === null ? undefined : checkObject(value as object, depth + 1, maxDepth)
  return found(
    type === "undefined"
      ? "is undefined, which JSON drops (or writes as null in an array)"
      : type === "bigint"
      ? "is a BigInt, which JSON cannot carry: encode it as a string"
      : `is a ${type}, which JSON drops`
  )
}

const checkObject = (value: object, depth: number, maxDepth: number): Found | undefined => {
  if (depth > maxDepth) {
    return found(`is nested more than ${maxDepth} levels deep in objects and arrays (the maxDepth option), at`, true)
  }
  const prototype: object | null = Object.getPrototypeOf(value)
  if (Array.isArray(value)) {
    // A null prototype changes nothing JSON carries (it reads back as an ordinary array).
    if (prototype !== Array.prototype && prototype !== null) return found(describePrototype(value, prototype))
    for (let index = 0; index < value.length; index++) {
      const problem = check(value[index], depth, maxDepth)
      if (problem !== undefined) {
        problem.keys.push(index)
        problem.holders.push(value)
        return problem
      }
    }
    return undefined
  }
  if (prototype !== Object.prototype && prototype !== null) return found(describePrototype(value, prototype))
  if (Object.getOwnPropertySymbols(value).length > 0) return found("has a symbol key, which JSON drops")
  for (const key in value) {
    const problem = key === "__proto__"
      ? found("is a \"__proto__\" key, which would become a prototype when decoded")
      : check((value as Record<string, unknown>)[key], depth, maxDepth)
    if (problem !== undefined) {
      problem.keys.push(key)
      problem.holders.push(value)
      return problem
    }
  }
  return undefined
}

const identifier = /^[A-Za-z_$][\w$]*$/

/** `root` followed by `keys` (outermost first): `data.readings[3]`, `data["a b"]`. */
export const formatPath = (root: string, keys: ReadonlyArray<string | number>): string => {
  let path = root
  for (const key of keys) {
    path += typeof key === "number" ? `[${key}]` : identifier.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
  }
  return path
}

const describe = (root: string, problem: Found): string => {
  const keys = problem.keys.reverse()
  const holders = problem.holders.reverse()
  if (problem.tooDeep) {
    // Followed down to the limit: a value that contains itself goes round until it hits it.
    for (let outer = 0; outer < holders.length; outer++) {
      const again = holders.indexOf(holders[outer], outer + 1)
      if (again !== -1) {
        return `${formatPath(root, keys.slice(0, again))} is a cycle: it is ${
          formatPath(root, keys.slice(0, outer))
        } again`
      }
    }
    // The depth first: the path that shows it is long.
    return `${root} ${problem.what} ${formatPath(root, keys)}`
  }
  return `${formatPath(root, keys)} ${problem.what}`
}

/**
 * Why `value` (called `root` in the reason) has no exact JSON text, or undefined when it has
 * one: every value a number JSON carries exactly, a string, a boolean, null, or a plain object
 * or array (`Object.prototype` or a null prototype) of such values, with no `"__proto__"` key
 * and at most `maxDepth` levels deep.
 */
export const inexactness = (value: unknown, root: string, maxDepth: number): string | undefined => {
  const problem = check(value, 0, Math.min(maxDepth, depthCeiling))
  return problem === undefined ? undefined : describe(root, problem)
}

// A `\u0000` escape, or a lone surrogate escape (JSON.stringify writes those as `\udXXX`),
// preceded by an even number of backslashes (an escaped backslash is not one). Neither can be
// stored as UTF-8 text (PostgreSQL's jsonb rejects both), so every store rejects them alike.
const unstorableEscape = /(?:^|[^\\])(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i

// eslint-disable-next-line no-control-regex -- NUL is exactly what it looks for
const unstorableCharacter = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** The path to the first string or key with a character that cannot be stored (the text says there is one). */
const findUnstorable = (value: unknown, keys: Array<string | number>): string | undefined => {
  if (typeof value === "string") {
    const match = unstorableCharacter.exec(value)
    return match === null ? undefined : match[0] === "\u0000" ? "contains a NUL character" : "contains a lone surrogate"
  }
  if (typeof value !== "object" || value === null) return undefined
  const entries: Array<readonly [string | number, unknown]> = Array.isArray(value)
    ? value.map((item, index) => [index, item] as const)
    : Object.entries(value)
  for (const [key, item] of entries) {
    keys.push(key)
    if (typeof key === "string") {
      const match = unstorableCharacter.exec(key)
      if (match !== null) {
        return `is a key that ${match[0] === "\u0000" ? "contains a NUL character" : "contains a lone surrogate"}`
      }
    }
    const problem = findUnstorable(item, keys)
    if (problem !== undefined) return problem
    keys.pop()
  }
  return undefined
}

/** The UTF-8 length of `text`. */
const utf8Length = (text: string): number => {
  let bytes = text.length
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index)
    // Two bytes up to U+07FF, three beyond; a surrogate pair's four are two per half.
    if (code > 0x7f) bytes += code > 0x7ff && (code < 0xd800 || code > 0xdfff) ? 2 : 1
  }
  return bytes
}

const formatCount = (count: number): string => count.toLocaleString("en-US")

/**
 * The exact JSON text of `value` (called `root` in the reason), or why it has none: a value
 * {@link inexactness} finds, a character that cannot be stored, or text beyond `maxBytes`.
 */
export const toExactJson = (value: unknown, root: string, limits: Limits): string | Inexact => {
  const problem = inexactness(value, root, limits.maxDepth)
  if (problem !== undefined) return new Inexact(problem)
  let json: string
  try {
    json = JSON.stringify(value)
  } catch (error) {
    // A getter that throws, or a proxy: the walk read the value, the second reading failed.
    return new Inexact(`${root} cannot be written as JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
  // Most payloads have no \u escape at all: a plain search settles them.
  if (json.includes("\\u") && unstorableEscape.test(json)) {
    const keys: Array<string | number> = []
    const what = findUnstorable(value, keys) ?? "contains a NUL character or a lone surrogate"
    return new Inexact(`${formatPath(root, keys)} ${what}, which PostgreSQL cannot store`)
  }
  // A UTF-16 unit takes one to three UTF-8 bytes: count them only when it could matter.
  if (json.length * 3 > limits.maxBytes) {
    const bytes = json.length > limits.maxBytes ? json.length : utf8Length(json)
    if (bytes > limits.maxBytes) {
      return new Inexact(
        `${root} takes ${json.length > limits.maxBytes ? "at least " : ""}${
          formatCount(bytes)
        } bytes as JSON, over the limit of ${formatCount(limits.maxBytes)} (the maxPayloadBytes option)`
      )
    }
  }
  return json
}

/**
 * The path (from `root`) of the first own `"__proto__"` key in `value`'s plain objects and
 * arrays, or undefined. Schema decodes a record by assigning its keys, and assigning
 * `"__proto__"` sets the prototype instead: stored payloads are checked before Schema sees them.
 */
export const prototypeKeyPath = (value: unknown, root: string): string | undefined => {
  const keys: Array<string | number> = []
  return hasPrototypeKey(value, keys, 0) ? formatPath(root, keys.reverse()) : undefined
}

const hasPrototypeKey = (value: unknown, keys: Array<string | number>, depth: number): boolean => {
  if (typeof value !== "object" || value === null || depth >= depthCeiling) return false
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      if (hasPrototypeKey(value[index], keys, depth + 1)) {
        keys.push(index)
        return true
      }
    }
    return false
  }
  const prototype: unknown = Object.getPrototypeOf(value)
  if (prototype !== Object.prototype && prototype !== null) return false
  if (Object.hasOwn(value, "__proto__")) {
    keys.push("__proto__")
    return true
  }
  for (const key in value) {
    if (hasPrototypeKey((value as Record<string, unknown>)[key], keys, depth + 1)) {
      keys.push(key)
      return true
    }
  }
  return false
}
