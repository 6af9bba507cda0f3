// Writes dist/tools-list.json at build time: the tools/list entries of the whole catalogue, so a
// starting server answers its first tools/list without converting 29 zod schemas (~30 ms).
// src/tools/index.ts uses it only when it lists exactly the catalogue's tools; a test checks it
// equals what the catalogue generates.
import { writeFileSync } from 'node:fs';
import { catalogue, LIST_CACHE, listEntry } from '../src/tools/index.js';

writeFileSync(LIST_CACHE, JSON.stringify(catalogue().map(listEntry)));
process.stderr.write(`wrote ${LIST_CACHE.pathname}\n`);
