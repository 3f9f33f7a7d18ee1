import { Component, type ReactNode } from "react";

/** One plugin panel's error boundary: a throw while rendering its box shows the error there, never the page's. */
export class PanelBoundary extends Component<{ name: string; children: ReactNode }, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override render() {
    if (this.state.error) return <PanelError name={this.props.name} message={String(this.state.error.message ?? this.state.error)} />;
    return this.props.children;
  }
}

export function PanelError(props: { name: string; message: string }) {
  return (
    <div className="plugin-error red" role="alert">
      panel plugin {props.name} failed: {props.message}
    </div>
  );
}
