import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { allDetectors } from "../detectors/registry.js";
import { generateJsonSchema, generateJsonSchemaText, SCHEMA_FILE } from "../src/config/json-schema.js";

describe("config/vigil.schema.json", () => {
  it("is current (run npm run schema after changing the config schema or the detector registry)", async () => {
    const committed = await readFile(SCHEMA_FILE, "utf8");
    // A plain equality would print 80 KB of JSON; say what to do instead.
    expect(committed === generateJsonSchemaText(), "config/vigil.schema.json is stale: run npm run schema").toBe(true);
  });

  it("offers every registered detector, with its parameters, by type", () => {
    const schema = generateJsonSchema() as {
      properties: { metrics: { items: { properties: { detectors: { items: { $ref: string } } } } } };
      definitions: { detector: { oneOf: Array<{ properties: Record<string, { const?: string }> }> } };
    };
    expect(schema.properties.metrics.items.properties.detectors.items.$ref).toBe("#/definitions/detector");
    const options = schema.definitions.detector.oneOf;
    expect(options.map((o) => o.properties.type?.const)).toEqual(allDetectors().map((d) => d.type));
    for (const [i, d] of allDetectors().entries()) {
      expect(Object.keys(options[i]!.properties).sort()).toEqual(["type", ...Object.keys(d.params.shape)].sort());
    }
  });

  it("documents every option", () => {
    const undocumented: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (node === null || typeof node !== "object") return;
      const obj = node as Record<string, unknown>;
      const props = obj.properties as Record<string, Record<string, unknown>> | undefined;
      if (props) {
        for (const [k, v] of Object.entries(props)) {
          if (typeof v.description !== "string" || v.description === "") undocumented.push(`${path}.${k}`);
          walk(v, `${path}.${k}`);
        }
      }
      for (const key of ["items", "additionalProperties"]) walk(obj[key], `${path}[]`);
      for (const key of ["anyOf", "oneOf"]) for (const o of (obj[key] as unknown[] | undefined) ?? []) walk(o, path);
      for (const [name, def] of Object.entries((obj.definitions as Record<string, unknown> | undefined) ?? {})) walk(def, `#${name}`);
    };
    walk(generateJsonSchema(), "");
    expect(undocumented).toEqual([]);
  });
});
