/**
 * The browser demo. In an app of your own, `npm install gru-wasm` replaces
 * the alias; keep `worker.format: 'es'` (the kernel worker loads the kernel
 * with a dynamic import) and the two headers.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** Shared memory, which the threaded kernel and its workers use, needs a cross-origin isolated page. */
export const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  resolve: {
    // This repository's build, as `npm install gru-wasm` would give it.
    alias: { 'gru-wasm': fileURLToPath(new URL('../../dist/index.js', import.meta.url)) },
  },
  worker: { format: 'es' },
  server: { headers: isolationHeaders, fs: { allow: ['../..'] } },
  preview: { headers: isolationHeaders },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true },
});
