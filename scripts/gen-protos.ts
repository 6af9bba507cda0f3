// Writes dist/protos/vertex.json at build time: the part of @google-cloud/aiplatform's protos.json
// (4 MB, 2,500 types, every Vertex AI service) that the services we call reach — their requests,
// responses, long-running-operation results and every type those mention, whole. Loading all of
// it costs the first call 1-2 s (protobufjs + proto-loader building descriptors for every type);
// the closure is a tenth of it. src/lib/protos.ts seeds google-gax's proto cache with it, and the
// emulator loads its service definitions from it; both check `source`, the key google-gax gives
// the full file, so a different installed aiplatform version simply takes the slow path.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_CUTS, protoSourceKey } from '../src/lib/protos.js';

const require = createRequire(import.meta.url);

type Reflected = protobuf.ReflectionObject;

/** Every type the given services reach, with the enclosing types of nested ones. */
function closure(root: protobuf.Root, services: string[]): Set<Reflected> {
  const kept = new Set<Reflected>();
  const keep = (obj: Reflected | null | undefined): void => {
    if (!obj || kept.has(obj)) return;
    kept.add(obj);
    if (obj.parent instanceof protobuf.Type) keep(obj.parent); // kept whole, with all it nests
    if (obj instanceof protobuf.Type) {
      for (const f of obj.fieldsArray) keep(f.resolve().resolvedType);
      for (const n of obj.nestedArray) keep(n);
    } else if (obj instanceof protobuf.Service) {
      for (const m of obj.methodsArray) {
        m.resolve();
        keep(m.resolvedRequestType);
        keep(m.resolvedResponseType);
        const lro = m.options?.['(google.longrunning.operation_info).response_type'] as string | undefined;
        const meta = m.options?.['(google.longrunning.operation_info).metadata_type'] as string | undefined;
        for (const t of [lro, meta]) if (t) keep(obj.parent!.lookup(t) ?? root.lookup(t));
      }
    }
  };
  for (const s of services) keep(root.lookupService(s));
  return kept;
}

/** The kept objects as protobufjs JSON, each under its own namespace path. */
function toJson(kept: Set<Reflected>): protobuf.INamespace {
  const out: { nested: Record<string, any> } = { nested: {} };
  for (const obj of kept) {
    if (obj.parent instanceof protobuf.Type) continue; // inside its parent's JSON
    const names = obj.fullName.slice(1).split('.');
    let ns = out;
    for (const n of names.slice(0, -1)) {
      ns.nested[n] ??= { nested: {} };
      ns = ns.nested[n];
    }
    ns.nested[names.at(-1)!] = obj.toJSON();
  }
  return out;
}

for (const c of PROTO_CUTS) {
  const file = require.resolve(`${c.pkg}/build/protos/protos.json`);
  const full = require(file) as protobuf.INamespace;
  const root = protobuf.Root.fromJSON(full);
  root.resolveAll();
  const kept = closure(root, [...c.services]);
  const json = toJson(kept);
  // Proof that the closure is complete: it resolves on its own.
  protobuf.Root.fromJSON(json).resolveAll();
  const out = path.resolve(import.meta.dirname, '..', 'protos', `${c.file}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  const body = JSON.stringify({ source: protoSourceKey(full), services: c.services, json });
  writeFileSync(out, body);
  console.error(
    `protos: ${kept.size} types of ${c.pkg}'s protos.json -> dist/protos/${c.file}.json (${body.length} bytes)`,
  );
}
