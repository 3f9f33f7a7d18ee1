// The bar under the top bar on the experiments views: where you are, and the way to the others.
import type { ReactNode } from "react";
import { NavLink } from "react-router";

export function XpNav({ children }: { children?: ReactNode }) {
  const cls = ({ isActive }: { isActive: boolean }) => (isActive ? "xp-nav-link on" : "xp-nav-link");
  return (
    <nav className="xp-nav" aria-label="views">
      <NavLink to="/" className={cls} end>
        LIVE
      </NavLink>
      <NavLink to="/table" className={cls}>
        TABLE
      </NavLink>
      <NavLink to="/compare" className={cls}>
        COMPARE
      </NavLink>
      <NavLink to="/group" className={cls}>
        GROUP
      </NavLink>
      {children}
    </nav>
  );
}
