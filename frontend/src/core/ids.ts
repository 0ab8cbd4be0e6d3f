/** Short random ids for nodes, edges and notes (the server accepts up to 64 characters). */

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

export function randomSuffix(length = 8): string {
  const bytes = new Uint8Array(length);
  globalThis.crypto.getRandomValues(bytes);
  let out = "";
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

/** A readable id: `http_request_k3j9a0xq` for a node of type `integration.http_request`. */
export function newId(prefix: string, taken?: ReadonlySet<string>): string {
  const base =
    prefix
      .split(".")
      .pop()!
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "_")
      .replace(/^_+|_+$/g, "")
      .slice(0, 40) || "id";
  for (;;) {
    const id = `${base}_${randomSuffix()}`;
    if (!taken || !taken.has(id)) return id;
  }
}
