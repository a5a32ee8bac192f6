/**
 * pg tells Cloudflare from Node by `navigator.userAgent`, and without one (Node 20) by building a
 * `Response`, which loads all of Node's fetch in a thread that never fetches; imported before pg,
 * this gives Node 20 the user agent Node 21 and later define.
 */
const g = globalThis as { navigator?: { userAgent?: string } };
g.navigator ??= { userAgent: `Node.js/${process.versions.node.split(".")[0]}` };
