/**
 * pg decides whether it runs on Cloudflare by `navigator.userAgent`, and where Node has no
 * `navigator` (Node 20) by constructing a `Response`, which loads Node's whole fetch implementation:
 * about 6 MB of memory in a thread that never fetches. Node 21 and later define `navigator` with
 * this user agent; imported before pg, this gives Node 20 threads the same answer without the cost.
 */
const g = globalThis as { navigator?: { userAgent?: string } };
g.navigator ??= { userAgent: `Node.js/${process.versions.node.split(".")[0]}` };
