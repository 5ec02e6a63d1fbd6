/**
 * comlink ships its Node adapter as an ES module without a declaration of
 * its own (the `.d.ts` beside the UMD build describes a CommonJS module,
 * whose default import TypeScript types differently).
 */
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  import type { NodeEndpoint } from 'comlink/dist/umd/node-adapter.js';

  export default function nodeEndpoint(port: NodeEndpoint): Endpoint;
}
