#!/usr/bin/env node
// The package mirror this project is built with serves only the linux-glibc binaries of biome, so
// `npm install` leaves the other platforms' optional packages out of package-lock.json and
// `npm ci` then refuses the lock. This adds those entries back (platform-gated, so npm never
// fetches them here) from biome's own optionalDependencies. Run it after changing biome's version.
import { readFileSync, writeFileSync } from "node:fs";

const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
const biome = lock.packages["node_modules/@biomejs/biome"];
const platforms = {
  "cli-win32-x64": { os: ["win32"], cpu: ["x64"] },
  "cli-win32-arm64": { os: ["win32"], cpu: ["arm64"] },
  "cli-darwin-x64": { os: ["darwin"], cpu: ["x64"] },
  "cli-darwin-arm64": { os: ["darwin"], cpu: ["arm64"] },
  "cli-linux-x64-musl": { os: ["linux"], cpu: ["x64"], libc: ["musl"] },
  "cli-linux-arm64-musl": { os: ["linux"], cpu: ["arm64"], libc: ["musl"] },
  "cli-android-x64": { os: ["android"], cpu: ["x64"] },
  "cli-android-arm64": { os: ["android"], cpu: ["arm64"] },
};
let added = 0;
for (const [name, version] of Object.entries(biome.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  const plat = platforms[name.split("/")[1]];
  if (!plat) throw new Error(`no platform known for ${name}`);
  lock.packages[key] = { version, dev: true, optional: true, license: "MIT OR Apache-2.0", ...plat, engines: { node: ">=14.21.3" } };
  added++;
}
const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))));
lock.packages = sorted;
writeFileSync("package-lock.json", `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added} platform stub(s)`);
