import { describe, expect, it } from "vitest";
import { classify, isLibraryFile, libraryFolds } from "./traceback";

const TB = [
  "Traceback (most recent call last):",
  '  File "/home/me/train.py", line 40, in <module>',
  "    main()",
  '  File "/venv/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1511, in _call_impl',
  "    return forward_call(*args, **kwargs)",
  '  File "/usr/lib/python3.11/functools.py", line 10, in wrapper',
  "    return f()",
  '  File "<frozen importlib._bootstrap>", line 1, in _find',
  '  File "/home/me/model.py", line 7, in forward',
  "    raise ValueError(f'bad shape {x.shape}')",
  "ValueError: bad shape (3, 4)",
  "step 5 done",
];

describe("tracebacks", () => {
  it("tells user code from library frames", () => {
    expect(isLibraryFile("/venv/lib/python3.11/site-packages/torch/x.py")).toBe(true);
    expect(isLibraryFile("/usr/lib/python3.11/functools.py")).toBe(true);
    expect(isLibraryFile("<frozen runpy>")).toBe(true);
    expect(isLibraryFile("/home/me/train.py")).toBe(false);
  });
  it("classifies header, frames, source lines and the exception line; the traceback ends there", () => {
    const kinds = classify(TB).map((r) => (r ? `${r.kind}${r.library ? "*" : ""}` : "-"));
    expect(kinds).toEqual(["header", "frame", "code", "frame*", "code*", "frame*", "code*", "frame*", "frame", "code", "exception", "-"]);
  });
  it("folds each run of library frames, counting frames", () => {
    expect(libraryFolds(classify(TB))).toEqual([{ start: 3, end: 7, frames: 3 }]);
  });
  it("leaves lines outside a traceback alone", () => {
    expect(classify(['  File "x.py", line 1', "Error: nope"])).toEqual([null, null]);
  });
});
