// A page in a chunk of its own, loaded without Suspense. React 19 holds back a Suspense boundary's content for
// up to 300 ms after its fallback showed (FALLBACK_THROTTLE_MS): a lazy() page arriving 20 ms after "loading…"
// appeared was painted ~280 ms later. Here the chunk's arrival is a plain state update, painted in the next
// frame; and the chunk of the page the address bar names is requested as this module loads, not after login.
import { createElement, useEffect, useState, type ComponentType } from "react";

export function lazyPage(load: () => Promise<ComponentType>, path?: string): ComponentType {
  let loaded: ComponentType | null = null;
  let pending: Promise<ComponentType> | null = null;
  const start = () =>
    (pending ??= load().then((c) => {
      loaded = c;
      return c;
    }));
  if (path !== undefined && typeof window !== "undefined" && window.location.pathname === path) void start();

  function LazyPage() {
    const [page, setPage] = useState<ComponentType | null>(() => loaded);
    const [failed, setFailed] = useState<string | null>(null);
    useEffect(() => {
      if (page) return;
      let live = true;
      start().then(
        (c) => live && setPage(() => c),
        (e: unknown) => {
          pending = null; // the next mount asks again
          if (live) setFailed(e instanceof Error ? e.message : String(e));
        },
      );
      return () => {
        live = false;
      };
    }, [page]);
    if (page) return createElement(page);
    if (failed) return <div className="center red">cannot load this page ({failed}): reload to try again</div>;
    return <div className="center">loading…</div>;
  }
  return LazyPage;
}
