// Loading an adapter's framework, an optional peer dependency, on first use: when it is not
// installed, the error says which package to install instead of a bare module-not-found.

/** `load()` (a literal `import(pkg)`), or an error naming `pkg` and the adapter that needs it. */
export async function peer<T>(pkg: string, adapter: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException)?.code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String(err).includes(pkg)) {
      throw new Error(`${adapter} needs the optional peer dependency ${pkg}: npm install ${pkg}`, { cause: err });
    }
    throw err;
  }
}
