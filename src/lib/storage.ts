// Reading and writing dataset and artifact files by URI: gs://bucket/path through
// @google-cloud/storage (the emulator's GCS in emulator mode), or a local path inside the allowed
// roots (--allow-path). Streams, so callers keep constant memory whatever the file size.
//
// STUB: the interface is fixed; gs:// support is being implemented. Local paths work.
import fs from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { VertexClients } from './clients.js';
import { invalid, VertexMcpError } from './errors.js';

export interface FileInfo {
  uri: string;
  size: number;
}

export class Files {
  constructor(
    private readonly clients: VertexClients,
    /** Absolute directories local paths must stay inside. */
    readonly allowedRoots: string[],
  ) {}

  /** Resolves a local path and refuses it outside the allowed roots (symlinks resolved). */
  localPath(p: string, field = 'path'): string {
    const abs = path.resolve(p);
    let real = abs;
    try {
      real = fs.realpathSync(abs);
    } catch {
      // Not there yet (an output): check the nearest existing parent instead.
      real = path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
    }
    const inside = this.allowedRoots.some(
      (r) => real === r || real.startsWith(r.endsWith(path.sep) ? r : r + path.sep),
    );
    if (!inside) {
      throw new VertexMcpError(
        'PERMISSION_DENIED',
        `${field} "${p}" is outside the allowed roots (${this.allowedRoots.join(', ')})`,
        'Use a path inside them, a gs:// URI, or start the server with --allow-path',
      );
    }
    return real;
  }

  isGcs(uri: string): boolean {
    return uri.startsWith('gs://');
  }

  /** Files under a directory (recursively) or a gs:// prefix, or the one file named. */
  async list(uri: string, field = 'path'): Promise<FileInfo[]> {
    if (this.isGcs(uri)) throw new VertexMcpError('INTERNAL', 'gs:// listing not implemented yet');
    const root = this.localPath(uri, field);
    const stat = await fs.promises.stat(root).catch(() => {
      throw invalid(`${field} "${uri}" does not exist`);
    });
    if (stat.isFile()) return [{ uri: root, size: stat.size }];
    const out: FileInfo[] = [];
    for (const entry of await fs.promises.readdir(root, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const full = path.join(entry.parentPath, entry.name);
      out.push({ uri: full, size: (await fs.promises.stat(full)).size });
    }
    return out.sort((a, b) => a.uri.localeCompare(b.uri));
  }

  async openRead(uri: string, field = 'path'): Promise<Readable> {
    if (this.isGcs(uri)) throw new VertexMcpError('INTERNAL', 'gs:// reads not implemented yet');
    return fs.createReadStream(this.localPath(uri, field));
  }

  async openWrite(uri: string, field = 'output'): Promise<Writable> {
    if (this.isGcs(uri)) throw new VertexMcpError('INTERNAL', 'gs:// writes not implemented yet');
    const p = this.localPath(uri, field);
    await fs.promises.mkdir(path.dirname(p), { recursive: true });
    return fs.createWriteStream(p);
  }

  async exists(uri: string): Promise<boolean> {
    if (this.isGcs(uri)) throw new VertexMcpError('INTERNAL', 'gs:// not implemented yet');
    return fs.existsSync(this.localPath(uri));
  }

  async readText(uri: string, field = 'path'): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of await this.openRead(uri, field)) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async writeText(uri: string, text: string, field = 'output'): Promise<void> {
    const w = await this.openWrite(uri, field);
    await new Promise<void>((resolve, reject) => {
      w.on('error', reject);
      w.end(text, () => resolve());
    });
  }
}
