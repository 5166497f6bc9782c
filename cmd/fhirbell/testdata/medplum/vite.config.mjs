// Two builds, both committed under dist/ so that `make test` needs only
// node and Chromium, never the network:
//   npm run build:web   the React page (web/) into dist/web
//   npm run build:node  the Node script (node/) with @medplum/core inlined
//                       into dist/node/main.mjs
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig(({ mode }) =>
  mode === 'node'
    ? {
        build: {
          ssr: 'node/main.mjs',
          outDir: 'dist/node',
          emptyOutDir: true,
          target: 'node20',
          minify: false,
          rollupOptions: { output: { format: 'es', entryFileNames: '[name].mjs' } },
        },
        ssr: { noExternal: true },
      }
    : {
        root: 'web',
        base: './',
        plugins: [react()],
        build: { outDir: '../dist/web', emptyOutDir: true, target: 'es2022' },
      }
);
