/**
 * A short, readable account of a failure cause: its tag and message, then the messages of
 * what caused it (a driver's "terminating connection due to administrator command" under a
 * generic "Failed to execute statement"), a few levels deep.
 */
export const describeCause = (cause: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    if (typeof current !== "object") {
      parts.push(String(current))
      break
    }
    const tag = "_tag" in current && typeof current._tag === "string" ? current._tag : undefined
    const message = "message" in current && typeof current.message === "string" && current.message !== ""
      ? current.message
      : undefined
    const code = "code" in current && typeof current.code === "string" ? ` (${current.code})` : ""
    const part = tag !== undefined && message !== undefined && depth === 0
      ? `${tag}: ${message}`
      : (message ?? tag ?? (depth === 0 ? String(current) : undefined))
    if (part !== undefined && !parts.includes(part + code)) parts.push(part + code)
    current = "cause" in current ? current.cause : undefined
  }
  return parts.join(": ")
}
