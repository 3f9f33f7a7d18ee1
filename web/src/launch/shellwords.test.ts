import { describe, expect, it } from "vitest";
import { joinCommand, splitCommand } from "./shellwords";

describe("splitCommand", () => {
  it("splits on whitespace and keeps quoted spaces in one word", () => {
    expect(splitCommand(`python  train.py --name "my run" --tag 'a b'`).argv).toEqual([
      "python",
      "train.py",
      "--name",
      "my run",
      "--tag",
      "a b",
    ]);
  });

  it("applies backslash and double-quote escapes as a shell does", () => {
    expect(splitCommand(String.raw`echo a\ b "x\"y" 'c\d' "\$HOME" \\`).argv).toEqual(["echo", "a b", 'x"y', "c\\d", "$HOME", "\\"]);
    expect(splitCommand("a \\\nb").argv).toEqual(["a", "b"]);
    expect(splitCommand(`x "" ''`).argv).toEqual(["x", "", ""]);
    expect(splitCommand(`--opt="a b"c`).argv).toEqual(["--opt=a bc"]);
  });

  it("reports an unterminated quote with its column", () => {
    const r = splitCommand(`python -c "print(1)`);
    expect(r.error).toBe(`unterminated " (column 11)`);
    expect(splitCommand("echo 'abc").error).toMatch(/unterminated '/);
  });

  it("names shell syntax that will be passed literally, and not when it is quoted", () => {
    expect(splitCommand("python t.py | tee out.log > x $HOME *.txt").literal.sort()).toEqual(
      ["operators", "redirections", "variables", "wildcards"].sort(),
    );
    expect(splitCommand(`echo '|' "$HOME" '*'`).literal).toEqual([]);
  });

  it("round-trips with joinCommand for awkward words", () => {
    const argv = ["python", "-c", `print('it''s "fine"')`, "", "a b", "$x", "ünï", "--lr=1e-3", "tab\there"];
    const line = joinCommand(argv);
    expect(splitCommand(line)).toEqual({ argv, error: null, literal: [] });
    expect(joinCommand(["python", "train.py", "--lr", "0.001"])).toBe("python train.py --lr 0.001");
  });
});
