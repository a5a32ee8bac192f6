/** Development entry (`npx tsx src/cli/entry.ts ...`); the installed bin runs the compiled main. */
import { main } from "./main.js";

process.exitCode = await main(process.argv);
