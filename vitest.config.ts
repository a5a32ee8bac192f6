import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests start PGlite, subprocesses and servers: generous limits, no sleeps inside.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
