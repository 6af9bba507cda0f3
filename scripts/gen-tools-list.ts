// Writes dist/tools-list.json at build time: the compact tools/list entries of the whole catalogue
// (src/tools/register.ts listEntry: non-default annotation hints only, titles only where they add
// words, one-level output schemas), so a starting server answers its first tools/list without
// converting every zod schema (~30 ms). The server uses it only when it lists exactly the
// catalogue's tools; a test checks it equals what the catalogue generates.
import { writeFileSync } from 'node:fs';
import { catalogue, LIST_CACHE, listEntry } from '../src/tools/index.js';

const entries = catalogue().map(listEntry);
const json = JSON.stringify(entries);
writeFileSync(LIST_CACHE, json);
process.stderr.write(`wrote ${LIST_CACHE.pathname} (${entries.length} tools, ${Buffer.byteLength(json)} bytes)\n`);
