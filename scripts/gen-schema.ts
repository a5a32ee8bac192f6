/** `npm run schema`: regenerate config/vigil.schema.json from src/config/schema.ts and the detector registry. */
import { writeFileSync } from "node:fs";
import { generateJsonSchemaText, SCHEMA_FILE } from "../src/config/json-schema.js";

writeFileSync(SCHEMA_FILE, generateJsonSchemaText());
process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
