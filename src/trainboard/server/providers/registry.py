"""Which providers the server offers: ``providers.toml`` in the data directory plus the ``serve`` flags.

```toml
# <data>/providers.toml  (every key optional)
public_url = "https://tb.example.org"   # how remote jobs reach this server (default: the bound address)
cancel_grace = 10                       # seconds from SIGTERM/stop to the forced kill (--cancel-grace wins)
env_allowlist = ["MY_FLAG", "DATA_*"]  # extra environment names a launch may set (shell-style patterns)
ca_bundle = "/etc/trainboard/ca.pem"   # the CA jobs verify the server with (relative: to this file's folder)

[providers.local]     # on by default with --allow-launch; `enabled = false` turns it off
[providers.ray]       # a table turns a provider on; its keys are that provider's settings
address = "http://127.0.0.1:8265"
[providers.slurm]
partition = "debug"
rate_per_hour = 0.5                     # what a job costs ($/hour) when it names no GPU type (trainboard.server.costs)
[rates]                                 # $/GPU-hour by GPU type (local, ray, slurm; RunPod reports its own price)
"A100" = 1.8
```

``ca_bundle``: jobs verify an HTTPS server with it — local jobs get ``TRAINBOARD_CA_BUNDLE`` naming the file,
remote ones its PEM text (``TRAINBOARD_CA_PEM``, written to a file by the job's own shell). Without it, jobs that
reach the server at its own address (local jobs; all jobs when there is no ``public_url``) trust the server's
``--ssl-certfile`` — enough when that file holds the chain up to its root (or is self-signed); name the root CA
here otherwise.

Each provider module exposes ``create(config, context) -> Provider``; it is imported only when configured, so a
missing optional dependency (``ray``, ``runpod``) turns that one provider into an error shown by
``GET /api/providers`` rather than a server that does not start.

Providers are entry points of the group ``trainboard.providers`` (``trainboard.plugins``): the built-in four are
described as such and loaded by the same code as an installed plugin's (``trainboard-ssh``'s ``ssh``). A plugin
provider is known only when the operator enabled it (``serve --plugin ssh``); then ``[providers.ssh]`` turns it on
like a built-in one.
"""

from __future__ import annotations

import fnmatch
import importlib
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainboard.plugins import PluginError, PluginInfo, installed, load
from trainboard.server.costs import Rates, parse_rates
from trainboard.server.providers.base import Provider, ProviderContext

__all__ = [
    "DEFAULT_ENV_ALLOWLIST",
    "KNOWN_PROVIDERS",
    "ConfigError",
    "LaunchConfig",
    "Registry",
    "build_registry",
    "env_allowed",
    "known_providers",
    "load_config",
]

#: Provider name -> module; each module has ``create(config, context)``.
KNOWN_PROVIDERS: dict[str, str] = {
    "local": "trainboard.server.providers.local",
    "ray": "trainboard.server.providers.ray",
    "slurm": "trainboard.server.providers.slurm",
    "runpod": "trainboard.server.providers.runpod",
}

#: Environment names a launch may set without configuration: the usual knobs of training code. Nothing that
#: changes how programs are loaded (``LD_*``, ``PYTHONPATH``, ``PATH``) and nothing of trainboard's own.
DEFAULT_ENV_ALLOWLIST: tuple[str, ...] = (
    "CUDA_VISIBLE_DEVICES",
    "CUDA_LAUNCH_BLOCKING",
    "NCCL_*",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TOKENIZERS_PARALLELISM",
    "PYTHONUNBUFFERED",
    "PYTHONHASHSEED",
    "HF_*",
    "TRANSFORMERS_*",
    "WANDB_MODE",
    "TORCH_*",
    "SEED",
)
_NEVER = ("TRAINBOARD_*", "LD_*", "DYLD_*", "PATH", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME", "BASH_ENV", "ENV")


class ConfigError(ValueError):
    """``providers.toml`` is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class LaunchConfig:
    public_url: str | None = None
    cancel_grace: float = 10.0
    ca_bundle: Path | None = None
    env_allowlist: tuple[str, ...] = DEFAULT_ENV_ALLOWLIST
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: What jobs cost (``[rates]``, and each provider's ``rates`` / ``rate_per_hour``): see ``server.costs``.
    rates: Rates = field(default_factory=Rates)


#: Keys of a ``[providers.X]`` table that are the server's, not the provider's.
_SERVER_KEYS = frozenset({"enabled", "rates", "rate_per_hour"})


def env_allowed(name: str, allowlist: tuple[str, ...]) -> bool:
    """Whether a launch may set ``name`` (case-sensitive shell-style patterns; the never-list wins)."""
    if any(fnmatch.fnmatchcase(name, p) for p in _NEVER):
        return False
    return any(fnmatch.fnmatchcase(name, p) for p in allowlist)


def known_providers(plugins: Collection[str] = ()) -> dict[str, PluginInfo]:
    """The providers a ``[providers.NAME]`` table may name: the built-ins and the enabled plugin providers
    (installed ones not enabled are left out). Reads entry point metadata only; imports nothing."""
    found: dict[str, PluginInfo] = {}
    for info in sorted(installed(["trainboard.providers"], enabled=plugins), key=lambda p: not p.builtin):
        if info.enabled and info.name not in found:  # a plugin never replaces a built-in
            found[info.name] = info
    return found


def _unknown(name: str, plugins: Collection[str]) -> str:
    known = known_providers(plugins)
    hint = ""
    for info in installed(["trainboard.providers"], builtin=False):
        if info.name == name:
            hint = f"; {info.dist} {info.version} provides it: enable it with trainboard serve --plugin {name}"
    return f"unknown provider [providers.{name}] (known: {', '.join(known)}){hint}"


def load_config(path: Path, *, plugins: Collection[str] = ()) -> LaunchConfig:
    """Read ``providers.toml``; a missing file is the defaults (``local`` only). ``plugins``: the enabled plugins
    (``Settings.plugins``), whose providers the file may configure."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return LaunchConfig(providers={"local": {}})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    public_url = raw.get("public_url")
    if public_url is not None and (
        not isinstance(public_url, str) or not public_url.startswith(("http://", "https://"))
    ):
        raise ConfigError(f"{path}: public_url must be an http(s):// URL")
    grace = raw.get("cancel_grace", 10.0)
    if isinstance(grace, bool) or not isinstance(grace, int | float) or grace < 0:
        raise ConfigError(f"{path}: cancel_grace must be a number of seconds >= 0")
    extra = raw.get("env_allowlist", [])
    if not isinstance(extra, list) or not all(isinstance(x, str) and x for x in extra):
        raise ConfigError(f"{path}: env_allowlist must be a list of names or patterns")
    ca = raw.get("ca_bundle")
    if ca is not None and (not isinstance(ca, str) or not ca):
        raise ConfigError(f"{path}: ca_bundle must be the path of a PEM file")
    ca_path = (path.parent / ca).resolve() if ca else None
    if ca_path is not None and not ca_path.is_file():
        raise ConfigError(f"{path}: ca_bundle {ca!r} is not a file")
    tables = raw.get("providers", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: [providers] must be a table")
    providers: dict[str, dict[str, Any]] = {"local": {}}
    priced: dict[str, dict[str, Any]] = {}
    for name, conf in tables.items():
        if name not in KNOWN_PROVIDERS and name not in known_providers(plugins):
            raise ConfigError(f"{path}: {_unknown(name, plugins)}")
        if not isinstance(conf, dict):
            raise ConfigError(f"{path}: [providers.{name}] must be a table")
        if conf.get("enabled", True) is False:
            providers.pop(name, None)
            continue
        providers[name] = {k: v for k, v in conf.items() if k not in _SERVER_KEYS}
        priced[name] = conf
    try:
        rates = parse_rates(raw.get("rates"), priced)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return LaunchConfig(
        public_url=public_url.rstrip("/") if public_url else None,
        cancel_grace=float(grace),
        ca_bundle=ca_path,
        env_allowlist=DEFAULT_ENV_ALLOWLIST + tuple(extra),
        providers=providers,
        rates=rates,
    )


@dataclass
class Registry:
    """The configured providers by name, and those that failed to load with the reason."""

    config: LaunchConfig
    providers: dict[str, Provider] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    #: The context each provider was created with (its ``server_url`` is what the API passes to ``deploy``).
    contexts: dict[str, ProviderContext] = field(default_factory=dict)

    def get(self, name: str) -> Provider | None:
        return self.providers.get(name)

    def names(self) -> list[str]:
        order = list(KNOWN_PROVIDERS)
        return sorted({*self.providers, *self.errors}, key=lambda n: (order.index(n) if n in order else len(order), n))


def build_registry(
    *,
    data_dir: Path,
    launch_root: Path | None,
    local_url: str,
    cancel_grace: float | None = None,
    config: LaunchConfig | None = None,
    factories: Mapping[str, str] | None = None,
    server_cert: Path | None = None,
    plugins: Collection[str] = (),
) -> Registry:
    """Create every configured provider. ``local_url`` is the server's own address (what ``local`` jobs use);
    ``cancel_grace`` (the ``--cancel-grace`` flag) overrides the file's; ``server_cert`` is the server's
    ``--ssl-certfile`` (the CA jobs trust by default when they reach the server at its own address).
    ``plugins``: the enabled plugins (``Settings.plugins``); ``factories`` (name -> module with ``create``)
    replaces the entry points (tests)."""
    conf = config if config is not None else load_config(data_dir / "providers.toml", plugins=plugins)
    known = known_providers(plugins) if factories is None else {}
    grace = conf.cancel_grace if cancel_grace is None else cancel_grace
    registry = Registry(config=conf)
    for name, settings in conf.providers.items():
        remote_url = conf.public_url or local_url
        url = local_url if name == "local" else remote_url
        own_address = url == local_url and url.startswith("https://")
        context = ProviderContext(
            state_dir=data_dir / "launch" / name,
            launch_root=launch_root,
            server_url=url,
            cancel_grace=float(settings.get("cancel_grace", grace)),
            ca_bundle=conf.ca_bundle or (server_cert if own_address else None),
        )
        registry.contexts[name] = context
        try:
            if factories is not None:
                create = importlib.import_module(factories[name]).create
            elif name in known:
                create = load(known[name])
            else:
                raise PluginError(_unknown(name, plugins))
            registry.providers[name] = create(settings, context)
        except PluginError as exc:
            registry.errors[name] = str(exc)
        except Exception as exc:  # one broken provider must not stop the server
            registry.errors[name] = f"{type(exc).__name__}: {exc}"
    return registry
