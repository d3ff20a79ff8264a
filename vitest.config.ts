import { defineConfig } from "vitest/config"

// The repository's tests run on the packages' sources: "@facta/source" is the export condition
// that points each package at `src/` instead of its built `dist/` (see CONTRIBUTING.md). Setting
// conditions replaces Vite's defaults, so they are listed after it.
const conditions = ["@facta/source", "module", "node", "development|production"]

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: [
      "packages/*/test/**/*.test.ts",
      "examples/*/test/**/*.test.ts",
      "test/**/*.test.ts"
    ],
    globalSetup: ["./test/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
