/// <reference types="vitest/config" />
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The production bundle is served by `trainboard serve`; it lives inside the Python package.
const outDir = fileURLToPath(new URL("../src/trainboard/server/static", import.meta.url));
// `npm run dev` proxies the API to a local `trainboard serve` (TRAINBOARD_URL or the default port).
const server = process.env.TRAINBOARD_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir,
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      "/api": { target: server, changeOrigin: true },
      "/health": { target: server, changeOrigin: true },
      "/ws": { target: server.replace(/^http/, "ws"), ws: true },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    watch: false,
  },
});
