import type { Command } from "commander";

/** `vigil detect` (offline CSV). Owned by the detectors work; registered by src/cli/main.ts. */
export function registerDetectCommands(_program: Command): void {}
