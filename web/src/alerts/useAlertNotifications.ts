// Browser notifications for alerts that start firing, while the page is open and the user allowed them.
import { useEffect, useRef, useState } from "react";
import type { Alert } from "./api";
import { newlyFiring } from "./model";

type Permission = "default" | "granted" | "denied" | "unsupported";

function current(): Permission {
  return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
}

/** Shows a Web Notification for each alert that started firing since the previous `alerts`; `ask` requests the
 * permission (browsers only allow that from a click). */
export function useAlertNotifications(alerts: Alert[] | undefined): { permission: Permission; ask: () => void } {
  const [permission, setPermission] = useState<Permission>(current);
  const previous = useRef<Alert[] | undefined>(undefined);
  useEffect(() => {
    if (!alerts) return;
    const fresh = newlyFiring(previous.current, alerts);
    previous.current = alerts;
    if (permission !== "granted") return;
    for (const a of fresh) new Notification(`trainboard: ${a.title}`, { body: a.message, tag: `alert-${a.id}` });
  }, [alerts, permission]);
  const ask = () => {
    if (typeof Notification === "undefined") return;
    void Notification.requestPermission().then((p) => setPermission(p));
  };
  return { permission, ask };
}
