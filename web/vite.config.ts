/// <reference types="vitest/config" />
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

// The production bundle is served by `trainboard serve`; it lives inside the Python package.
const outDir = fileURLToPath(new URL("../src/trainboard/server/static", import.meta.url));
// `npm run dev` proxies the API to a local `trainboard serve` (TRAINBOARD_URL or the default port).
const server = process.env.TRAINBOARD_URL ?? "http://127.0.0.1:8000";

// The API docs pages (/docs, /redoc) load Swagger UI and Redoc from the server itself, never from a CDN
// (air-gapped clusters): the build copies them from their npm packages into static/apidocs/.
const API_DOCS_ASSETS: Record<string, string> = {
  "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
  "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
  "favicon.png": "swagger-ui-dist/favicon-32x32.png",
  "swagger-ui-LICENSE.txt": "swagger-ui-dist/LICENSE",
  "swagger-ui-NOTICE.txt": "swagger-ui-dist/NOTICE",
  "swagger-ui-bundle.js.LICENSE.txt": "swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt",
  "redoc.standalone.js": "redoc/bundles/redoc.standalone.js",
  "redoc.standalone.js.LICENSE.txt": "redoc/bundles/redoc.standalone.js.LICENSE.txt",
  "redoc-LICENSE.txt": "redoc/LICENSE",
};

function apiDocsAssets(): Plugin {
  return {
    name: "trainboard-api-docs-assets",
    apply: "build",
    generateBundle() {
      for (const [name, from] of Object.entries(API_DOCS_ASSETS)) {
        const path = fileURLToPath(new URL(`node_modules/${from}`, import.meta.url));
        if (!existsSync(path)) this.error(`${path} is missing: run \`npm ci\` in web/ (swagger-ui-dist, redoc)`);
        this.emitFile({ type: "asset", fileName: `apidocs/${name}`, source: readFileSync(path) });
      }
    },
  };
}

export default defineConfig({
  plugins: [react(), apiDocsAssets()],
  build: {
    outDir,
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      // Host stays the dev server's, so it matches the browser's Origin (the API refuses foreign origins)
      "/api": { target: server },
      "/health": { target: server },
      "/ws": { target: server.replace(/^http/, "ws"), ws: true },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    watch: false,
  },
});
