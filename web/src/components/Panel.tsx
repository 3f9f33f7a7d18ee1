import type { ReactNode } from "react";

export function Panel(props: {
  title: string;
  extra?: ReactNode;
  className?: string;
  children: ReactNode;
  id?: string;
  /** folded to its header (the body stays mounted: a terminal keeps its state) */
  collapsed?: boolean;
  onToggle?: () => void;
  style?: React.CSSProperties;
}) {
  const { collapsed = false, onToggle } = props;
  return (
    <section
      className={`panel ${props.className ?? ""}${collapsed ? " collapsed" : ""}`}
      aria-label={props.title}
      id={props.id}
      style={props.style}
    >
      <header className="panel-head">
        {onToggle && (
          <button
            className="fold"
            onClick={onToggle}
            aria-expanded={!collapsed}
            aria-label={`${collapsed ? "expand" : "collapse"} ${props.title.split(" · ")[0]}`}
            title={collapsed ? "expand" : "collapse"}
          >
            {collapsed ? "▸" : "▾"}
          </button>
        )}
        <h2>{props.title}</h2>
        {props.extra && !collapsed && <div className="panel-extra">{props.extra}</div>}
      </header>
      <div className="panel-body" hidden={collapsed}>
        {props.children}
      </div>
    </section>
  );
}
