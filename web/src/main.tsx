import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { takeLoginCode } from "./auth/place";
import "./styles/global.css";

// the one-time login code leaves the address bar before anything else runs (history, extensions, the router)
const loginCode = takeLoginCode(window.location, window.history);

const root = document.getElementById("root");
if (root)
  createRoot(root).render(
    <StrictMode>
      <App loginCode={loginCode} />
    </StrictMode>,
  );
