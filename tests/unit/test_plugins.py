"""Plugin discovery and loading (``trainboard.plugins``) on distributions laid out in a folder on ``sys.path`` as pip
lays them out (``<name>-<version>.dist-info/METADATA`` + ``entry_points.txt`` beside the package), read through
``importlib.metadata`` like any installed plugin."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from trainboard.plugins import API_VERSION, installed, load_group, parse_names
from trainboard.plugins.panels import PanelSpec, asset_file, panel_root
from trainboard.server.providers.registry import ConfigError, build_registry, known_providers, load_config


def dist(site: Path, name: str, version: str, entry_points: dict[str, dict[str, str]], modules: dict[str, str]) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = []
    for group, eps in entry_points.items():
        lines.append(f"[{group}]")
        lines += [f"{k} = {v}" for k, v in eps.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(source)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith("tbp_")]:
        monkeypatch.delitem(sys.modules, name)
    return tmp_path


SOURCE = """TRAINBOARD_API = {api}
class Source:
    name = 'probe'
    def status(self): return 'detected: probe'
    def read(self, pids): return {{'sys/probe': 1.0}}
"""


def test_only_enabled_plugins_are_imported(site: Path) -> None:
    dist(
        site,
        "tbp-probe",
        "1.2.3",
        {"trainboard.system_sources": {"probe": "tbp_probe:Source"}},
        {"tbp_probe": SOURCE.format(api=1)},
    )
    listed = {p.name: p for p in installed(["trainboard.system_sources"])}
    assert listed["probe"].dist == "tbp-probe" and listed["probe"].version == "1.2.3" and not listed["probe"].enabled
    assert listed["amd"].builtin and listed["amd"].enabled  # built-ins are listed by the same code, always on
    off = load_group("trainboard.system_sources")
    assert "probe" not in off.loaded and "tbp_probe" not in sys.modules  # installed is not enough to run code
    for name in ("probe", "tbp-probe", "TBP_Probe", "system_sources:probe"):  # entry point, package, group:name
        assert "probe" in load_group("trainboard.system_sources", enabled=[name]).loaded, name
    assert "probe" not in load_group("trainboard.system_sources", enabled=["providers:probe"]).loaded


def test_api_version_is_checked(site: Path) -> None:
    dist(
        site,
        "tbp-new",
        "2.0",
        {"trainboard.subscribers": {"new": "tbp_new:make"}},
        {"tbp_new": "TRAINBOARD_API = 99\ndef make(): return []\n"},
    )
    dist(
        site,
        "tbp-none",
        "1.0",
        {"trainboard.subscribers": {"none": "tbp_none:make"}},
        {"tbp_none": "def make(): return []\n"},
    )
    dist(
        site,
        "tbp-broken",
        "1.0",
        {"trainboard.subscribers": {"broken": "tbp_broken:make"}},
        {"tbp_broken": "import no_such_module_here\n"},
    )
    group = load_group("trainboard.subscribers", enabled=["new", "none", "broken"])
    assert group.loaded == {}
    assert group.errors["new"] == (
        f"trainboard.subscribers 'new' (tbp-new 2.0): written for plugin API 99; this trainboard supports "
        f"1..{API_VERSION} (upgrade trainboard)"
    )
    assert "declares no TRAINBOARD_API version" in group.errors["none"]
    assert "ModuleNotFoundError: No module named 'no_such_module_here'" in group.errors["broken"]


def test_a_plugin_cannot_take_a_builtin_name(site: Path) -> None:
    dist(
        site,
        "tbp-evil",
        "1.0",
        {"trainboard.providers": {"local": "tbp_evil:create"}},
        {"tbp_evil": "TRAINBOARD_API = 1\ndef create(c, x): raise SystemExit\n"},
    )
    group = load_group("trainboard.providers", enabled=["tbp-evil"])
    assert group.errors["local (tbp-evil)"] == "tbp-evil: 'local' is a built-in trainboard.providers name"
    assert "tbp_evil" not in sys.modules
    assert known_providers(["tbp-evil"])["local"].builtin


PROVIDER = """TRAINBOARD_API = 1
from trainboard.server.providers.base import Capabilities
class P:
    name = "echo"
    capabilities = Capabilities()
    def __init__(self, config): self.config = config
def create(config, context):
    if "fail" in config: raise ValueError("[providers.echo] fail: asked to")
    return P(dict(config))
"""


def test_provider_plugins_in_providers_toml(site: Path, tmp_path: Path) -> None:
    dist(site, "tbp-echo", "0.3", {"trainboard.providers": {"echo": "tbp_echo:create"}}, {"tbp_echo": PROVIDER})
    toml = tmp_path / "providers.toml"
    toml.write_text("[providers.echo]\nanswer = 42\n")
    with pytest.raises(ConfigError) as refused:
        load_config(toml)
    assert "unknown provider [providers.echo]" in str(refused.value)
    assert "tbp-echo 0.3 provides it: enable it with trainboard serve --plugin echo" in str(refused.value)
    reg = build_registry(data_dir=tmp_path, launch_root=None, local_url="http://127.0.0.1:1", plugins=["echo"])
    assert reg.providers["echo"].config == {"answer": 42}  # type: ignore[attr-defined]
    assert reg.names() == ["local", "echo"]
    toml.write_text("[providers.echo]\nfail = true\n")
    reg = build_registry(data_dir=tmp_path, launch_root=None, local_url="http://127.0.0.1:1", plugins=["echo"])
    assert reg.errors == {"echo": "ValueError: [providers.echo] fail: asked to"}


def test_parse_names() -> None:
    assert parse_names(["a", "b,c", " d  e "]) == ("a", "b", "c", "d", "e")
    assert parse_names(None) == ()


PANEL = """TRAINBOARD_API = 1
from trainboard.plugins.panels import PanelSpec
PANEL = PanelSpec(title='T', package='tbp_panel')
"""


def test_panel_files_never_escape_their_folder(site: Path) -> None:
    pkg = site / "tbp_panel"
    (pkg / "static" / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text(PANEL)
    (pkg / "secret.txt").write_text("not served")
    (pkg / "static" / "panel.js").write_text("export function mount() {}")
    (pkg / "static" / "sub" / "a.css").write_text("")
    (pkg / "static" / "link.js").symlink_to(pkg / "secret.txt")
    spec = PanelSpec(title="T", package="tbp_panel")
    root = panel_root(spec)
    assert asset_file(root, "panel.js") == root / "panel.js"
    assert asset_file(root, "sub/a.css") == root / "sub" / "a.css"
    for bad in (
        "../secret.txt",
        "sub/../../secret.txt",
        "/etc/passwd",
        "link.js",
        "sub",
        "",
        "a\\b",
        ".hidden",
        "sub//a.css",
        "panel.js\x00",
        "x" * 600,
    ):
        assert asset_file(root, bad) is None, bad
    with pytest.raises(ValueError, match="not a plain relative path"):
        PanelSpec(title="T", package="tbp_panel", module="../x.js")
    with pytest.raises(ValueError, match=r"panel module static/missing\.js is not in the package"):
        panel_root(PanelSpec(title="T", package="tbp_panel", module="missing.js"))


IMPORTER = """TRAINBOARD_API = 1
def register(import_app):
    @import_app.command("csvfile")
    def csvfile(path: str) -> None:
        '''Import a CSV file of metrics (example plugin).'''
        print("would import", path)
"""


def test_importer_plugins_add_import_commands_when_enabled(site: Path) -> None:
    import os
    import subprocess

    dist(site, "tbp-csv", "0.1", {"trainboard.importers": {"csvfile": "tbp_csv:register"}}, {"tbp_csv": IMPORTER})
    env = dict(os.environ, PYTHONPATH=str(site), COLUMNS="200", NO_COLOR="1")
    env.pop("TRAINBOARD_PLUGINS", None)

    def cli(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "trainboard.cli", "import", *args]
        return subprocess.run(argv, capture_output=True, text=True, env=env | extra, timeout=60, check=False)

    assert "csvfile" not in cli("--help").stdout
    done = cli("csvfile", "m.csv", TRAINBOARD_PLUGINS="csvfile")
    assert done.returncode == 0 and done.stdout.strip() == "would import m.csv", done.stderr
    (site / "tbp_csv.py").write_text("TRAINBOARD_API = 7\ndef register(app): pass\n")
    done = cli("--help", TRAINBOARD_PLUGINS="csvfile")
    assert done.returncode == 0 and "csvfile" not in done.stdout
    assert (
        "importer plugin 'csvfile' is off: trainboard.importers 'csvfile' (tbp-csv 0.1): written for plugin API 7"
        in done.stderr
    )
