// Whether the server answers. Every HTTP call and the live connection report here; the banner reads it.

type Listener = () => void;

export interface Connectivity {
  reachable: boolean;
  /** epoch ms of the last failure, for the banner */
  since: number | null;
}

let state: Connectivity = { reachable: true, since: null };
const listeners = new Set<Listener>();

function set(next: Connectivity): void {
  if (next.reachable === state.reachable) return;
  state = next;
  for (const l of listeners) l();
}

export const connectivity = {
  get: (): Connectivity => state,
  subscribe(l: Listener): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
  ok(): void {
    set({ reachable: true, since: null });
  },
  failed(): void {
    set({ reachable: false, since: Date.now() });
  },
};
