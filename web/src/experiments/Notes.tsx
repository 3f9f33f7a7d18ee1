// Run notes: Markdown rendered without raw HTML (react-markdown skips HTML unless rehype-raw is added; it
// is not) and with links limited to http(s)/mailto, so a note can never run script.
import Markdown, { defaultUrlTransform } from "react-markdown";

/** Only web and mail links survive; `javascript:`, `data:` and the like become empty. */
export function safeUrl(url: string): string {
  const u = defaultUrlTransform(url);
  return /^(https?:|mailto:|#|\/(?!\/))/i.test(u) ? u : "";
}

export function NotesView({ text }: { text: string }) {
  if (!text.trim()) return <div className="muted small">no notes</div>;
  return (
    <div className="xp-notes" data-testid="notes-rendered">
      <Markdown skipHtml urlTransform={safeUrl} components={{ a: ({ node: _n, ...props }) => <a {...props} target="_blank" rel="noreferrer noopener" /> }}>
        {text}
      </Markdown>
    </div>
  );
}
