/** config/vigil.schema.json, generated from the zod schema so that editors and vigil agree. */
import { z } from "zod";
import { configSchema } from "./schema.js";

export const SCHEMA_FILE = "config/vigil.schema.json";

export function generateJsonSchema(): Record<string, unknown> {
  // draft-07: what yaml-language-server and most editors understand best. io "input": fields with
  // defaults stay optional, as they are in the file.
  const schema = z.toJSONSchema(configSchema, { target: "draft-07", io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return {
    ...schema,
    $id: "https://github.com/vigil/vigil/config/vigil.schema.json",
    title: "vigil configuration",
    // Top-level x-* keys are free for YAML anchors (the loader ignores them).
    patternProperties: { "^x-": {} },
  };
}

/** The exact file content, so a test can compare byte for byte. */
export function generateJsonSchemaText(): string {
  return `${JSON.stringify(generateJsonSchema(), null, 2)}\n`;
}
