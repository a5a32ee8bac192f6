/** config/vigil.schema.json, generated from the zod schema so that editors and vigil agree. */
import { z } from "zod";
import { configSchema } from "./schema.js";

export const SCHEMA_FILE = "config/vigil.schema.json";

/** What `port: ${PORT:-9464}` looks like to an editor before interpolation. */
const ENV_REFERENCE = {
  type: "string",
  pattern: "^\\$\\{[A-Za-z_][A-Za-z0-9_]*(?:(?::?-|:?\\?)[^}]*)?\\}$",
  description: "An environment variable reference, interpolated when vigil loads the file.",
};

/**
 * vigil types a value that is wholly one `${VAR}` after interpolation, so numeric and boolean
 * fields may hold such a reference; say so in the editor schema too, or editors flag valid files.
 */
function allowEnvReferences(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowEnvReferences);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node))
    out[k] = k === "properties" || k === "patternProperties" ? mapValues(v) : allowEnvReferences(v);
  const type = out.type;
  if (type === "integer" || type === "number" || type === "boolean") {
    const { description, default: dflt, ...rest } = out;
    return {
      ...(description === undefined ? {} : { description }),
      ...(dflt === undefined ? {} : { default: dflt }),
      anyOf: [rest, { $ref: "#/definitions/env_reference" }],
    };
  }
  return out;
}

function mapValues(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, allowEnvReferences(x)]));
}

/** The few paths the generator rewrites; the rest of the document passes through untyped. */
interface Root {
  properties: {
    metrics: { items: { properties: { detectors: { items: unknown } } } };
    defaults: { properties: { detectors: { items: unknown } } };
  };
  [key: string]: unknown;
}

export function generateJsonSchema(): Record<string, unknown> {
  // draft-07: what yaml-language-server and most editors understand best. io "input": fields with
  // defaults stay optional, as they are in the file.
  const schema = allowEnvReferences(z.toJSONSchema(configSchema, { target: "draft-07", io: "input", unrepresentable: "any" })) as Root;
  // The detector union is the bulk of the file and appears twice (defaults and metrics): share it.
  const detector = schema.properties.metrics.items.properties.detectors.items;
  schema.properties.metrics.items.properties.detectors.items = { $ref: "#/definitions/detector" };
  schema.properties.defaults.properties.detectors.items = { $ref: "#/definitions/detector" };
  return {
    ...schema,
    $id: "https://github.com/vigil/vigil/config/vigil.schema.json",
    title: "vigil configuration",
    // Top-level x-* keys are free for YAML anchors (the loader ignores them).
    patternProperties: { "^x-": {} },
    definitions: { detector, env_reference: ENV_REFERENCE },
  };
}

/** The exact file content, so a test can compare byte for byte. */
export function generateJsonSchemaText(): string {
  return `${JSON.stringify(generateJsonSchema(), null, 2)}\n`;
}
