#!/usr/bin/env node
/**
 * Fails on a broken relative link in the repository's Markdown: README.md, CONTRIBUTING.md,
 * docs/ (not the generated docs/api/), and every package's and example's README. A link to a
 * heading (`file.md#some-heading`, `#some-heading`) must name a heading of that file, slugged the
 * way GitHub slugs them.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const markdownIn = (dir, recurse) =>
  existsSync(dir)
    ? readdirSync(dir).flatMap((name) => {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) {
        return recurse && name !== "api" && name !== "node_modules"
          ? markdownIn(path, true)
          : []
      }
      return name.endsWith(".md") ? [path] : []
    })
    : []
const files = [
  ...markdownIn(root, false),
  ...markdownIn(join(root, "docs"), true),
  ...["packages", "examples"].flatMap((group) =>
    readdirSync(join(root, group)).flatMap((name) => markdownIn(join(root, group, name), false))
  )
]

const slug = (heading) =>
  heading.trim().toLowerCase().replace(/<[^>]+>/g, "").replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-")
const anchorsOf = (file) => {
  const anchors = new Set()
  const counts = new Map()
  let fenced = false
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.startsWith("```")) fenced = !fenced
    const match = !fenced && /^#{1,6}\s+(.*)$/.exec(line)
    if (!match) continue
    const base = slug(match[1].replace(/`/g, ""))
    const seen = counts.get(base) ?? 0
    counts.set(base, seen + 1)
    anchors.add(seen === 0 ? base : `${base}-${seen}`)
  }
  return anchors
}

const problems = []
for (const file of files) {
  const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "")
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue
    const [path, anchor] = target.split("#", 2)
    const resolved = path === "" ? file : resolve(dirname(file), decodeURIComponent(path))
    const where = `${relative(root, file)}: (${target})`
    if (!existsSync(resolved)) problems.push(`${where} points at a missing file`)
    else if (anchor !== undefined && resolved.endsWith(".md") && !anchorsOf(resolved).has(anchor)) {
      problems.push(`${where} names no heading of ${relative(root, resolved)}`)
    }
  }
}
if (problems.length > 0) {
  console.error(`Broken links in the documentation:\n  ${problems.join("\n  ")}`)
  process.exit(1)
}
console.log(`${files.length} Markdown files, every relative link resolves`)
