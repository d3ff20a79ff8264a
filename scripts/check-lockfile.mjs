#!/usr/bin/env node
/**
 * Fails when a package.json and package-lock.json disagree: every dependency range that the root
 * or a workspace package declares must be the one the lockfile recorded for it, every workspace
 * must be in the lockfile, and the lockfile must hold every platform's optional packages that
 * npm ci checks for (a lockfile written over an old node_modules leaves them out).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"))
const rootManifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
const kinds = ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies", "peerDependenciesMeta"]
const problems = []

// Workspace patterns here are folders or "folder/*".
const workspaces = (rootManifest.workspaces ?? [])
  .flatMap((pattern) =>
    pattern.endsWith("/*")
      ? readdirSync(join(root, pattern.slice(0, -2))).map((name) => `${pattern.slice(0, -2)}/${name}`)
      : [pattern]
  )
  .filter((dir) => existsSync(join(root, dir, "package.json")))
for (const dir of ["", ...workspaces]) {
  const manifest = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"))
  const locked = lock.packages?.[dir]
  if (locked === undefined) {
    problems.push(`${dir} is a workspace but not in package-lock.json`)
    continue
  }
  if (dir !== "" && locked.version !== manifest.version) {
    problems.push(`${dir}: version ${manifest.version}, locked ${locked.version}`)
  }
  for (const kind of kinds) {
    const declared = JSON.stringify(manifest[kind] ?? {}, Object.keys(manifest[kind] ?? {}).sort())
    const recorded = JSON.stringify(locked[kind] ?? {}, Object.keys(locked[kind] ?? {}).sort())
    if (declared !== recorded) {
      problems.push(`${dir || "(root)"} ${kind}: package.json has ${declared}, the lockfile ${recorded}`)
    }
  }
}

// Every optional dependency of a locked package must itself be locked, whatever the platform.
for (const [path, entry] of Object.entries(lock.packages ?? {})) {
  for (const name of Object.keys(entry.optionalDependencies ?? {})) {
    const candidates = [`${path}/node_modules/${name}`, `node_modules/${name}`]
    if (!candidates.some((candidate) => candidate in lock.packages)) {
      problems.push(`${path}: optional ${name} is not in the lockfile`)
    }
  }
}

if (problems.length > 0) {
  console.error(`package.json and package-lock.json have drifted apart:\n  ${problems.join("\n  ")}`)
  console.error("Regenerate the lockfile from a clean state: rm -rf node_modules package-lock.json && npm install")
  process.exit(1)
}
console.log(`package-lock.json matches ${workspaces.length + 1} package.json files`)
