// Bookmarks and log positions over HTTP (the typed shapes come from the generated schema).
import { query, request } from "../api/client";
import type { components } from "../api/schema.gen";
import type { Place } from "./permalink";

export type Bookmark = components["schemas"]["BookmarkOut"];
export type BookmarkList = components["schemas"]["BookmarkList"];
export type LogPosition = components["schemas"]["LogPosition"];

const enc = encodeURIComponent;

export async function listBookmarks(runId: string): Promise<BookmarkList> {
  return (await request(`/api/runs/${enc(runId)}/bookmarks`)).json() as Promise<BookmarkList>;
}

export async function addBookmark(
  runId: string,
  body: { line_number?: number; offset?: number; time?: number; note: string },
): Promise<Bookmark> {
  const init = { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  return (await request(`/api/runs/${enc(runId)}/bookmarks`, init)).json() as Promise<Bookmark>;
}

export async function deleteBookmark(runId: string, id: number): Promise<void> {
  await request(`/api/runs/${enc(runId)}/bookmarks/${id}`, { method: "DELETE" });
}

/** Where a permalink's place is: the line (number and index among the stored lines) and the moment. */
export async function getPosition(runId: string, place: Place): Promise<LogPosition> {
  const params = "line" in place ? { line: place.line } : "offset" in place ? { offset: place.offset } : { time: place.t };
  return (await request(`/api/runs/${enc(runId)}/logs/position${query(params)}`)).json() as Promise<LogPosition>;
}
