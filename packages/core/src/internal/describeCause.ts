/** A short, readable account of a failure cause: its tag and message when it has them. */
export const describeCause = (cause: unknown): string => {
  if (typeof cause === "object" && cause !== null) {
    const tag = "_tag" in cause && typeof cause._tag === "string" ? cause._tag : undefined
    const message = "message" in cause && typeof cause.message === "string" && cause.message !== ""
      ? cause.message
      : undefined
    if (tag !== undefined && message !== undefined) return `${tag}: ${message}`
    if (message !== undefined) return message
    if (tag !== undefined) return tag
  }
  return String(cause)
}
