import type { ReactNode } from "react";

export function Panel(props: { title: string; extra?: ReactNode; className?: string; children: ReactNode; id?: string }) {
  return (
    <section className={`panel ${props.className ?? ""}`} aria-label={props.title} id={props.id}>
      <header className="panel-head">
        <h2>{props.title}</h2>
        {props.extra && <div className="panel-extra">{props.extra}</div>}
      </header>
      <div className="panel-body">{props.children}</div>
    </section>
  );
}
