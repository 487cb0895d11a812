"""The rooms of the package and what each may import (docs/architecture.md, "The rooms").

Every module is imported (so none is broken or circular on its own) and its import
statements are read with ``ast``:

* a service's client library is imported only by that service's adapter;
* adapters never import planners (the pure sync code);
* the product never imports the sandbox, except the ``sandbox`` and ``demo`` commands;
* only the composition root (``connect.py``) imports the three adapters together;
* a function-local import says, in a comment on it or just above, why it is local:
  an import cycle, an optional dependency, or the sandbox.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path

import pytest

import sheetledger

PACKAGE = Path(sheetledger.__file__).resolve().parent

# The client library of each outside service, and the modules allowed to import it.
CLIENT_LIBRARIES = {
    "gspread": {"ledger.google", "ledger.sheets"},
    "google": {"ledger.google"},
    "requests": {"crm.amocrm", "ledger.drive", "ledger.google", "ledger.sheets", "notify.sms"},
    "urllib3": {"crm.amocrm"},
    "telegram": {
        "bot.app",
        "bot.identity",
        "bot.orders",
        "bot.polling",
        "bot.replies",
        "bot.run",
        "notify.telegram",
    },
    "apscheduler": {"daemon"},
    "tenacity": {"retry"},
}
# The adapters: the modules that talk to a service, by service. (bot/app.py is the bot's
# shell: its handlers call the parser and the book, and talk through PTB's Application.)
ADAPTERS = {
    "amoCRM": {"crm.amocrm"},
    "Google": {
        "ledger.cabinet_files",
        "ledger.drive",
        "ledger.google",
        "ledger.sheets",
        "ledger.setup",
    },
    "Telegram": {"bot.identity", "bot.polling", "notify.telegram"},
    "SMS": {"notify.sms"},
}
# The planners: pure functions from snapshots to operations.
PLANNERS = {
    "sync.pull",
    "sync.push",
    "sync.cabinets",
    "sync.cash",
    "sync.cursor",
    "sync.state",
    "sync.cycle",
    "bot.parse",
    "orders.parse",
    "orders.cabinets",
    "orders.plan",
    "orders.rows",
}
COMPOSITION_ROOT = "connect"
# Where the sandbox may be loaded: the emulators themselves, and the two commands on them
# (the ``demo`` package, every module of it).
SANDBOX_USERS = {"demo"}
SANDBOX_COMMANDS = {("cli", "cmd_sandbox"), ("cli", "cmd_demo")}
LOCAL_IMPORT_REASONS = ("import cycle", "optional dependency", "sandbox")


@dataclass(frozen=True)
class Import:
    module: str  # what is imported, absolute, without the "sheetledger." prefix when ours
    ours: bool
    line: int
    function: str | None  # the enclosing function of a local import, None at module level
    type_only: bool  # under ``if TYPE_CHECKING:``


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()
PRODUCT = sorted(m for m in MODULES if m != "sandbox" and not m.startswith("sandbox."))
RUNS_ON_IMPORT = {"__main__"}  # `python -m sheetledger`: importing it runs the CLI


def _resolve(node: ast.ImportFrom, module: str) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(["sheetledger", *base, *([node.module] if node.module else [])])


def imports_of(module: str) -> list[Import]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: list[Import] = []

    def visit(node: ast.AST, function: str | None, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner, typed = function, type_only
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = child.name if function is None else function
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                typed = True
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(child, module)
                names = [base]
                if base in ("sheetledger", "sheetledger." + module.rsplit(".", 1)[0]):
                    names = [f"{base}.{alias.name}" for alias in child.names]
            for name in names:
                ours = name == "sheetledger" or name.startswith("sheetledger.")
                short = name.removeprefix("sheetledger.") if ours else name
                found.append(Import(short, ours, child.lineno, inner, typed))
            visit(child, inner, typed)

    visit(tree, None, False)
    return found


def _ours(module: str) -> set[str]:
    """Our modules that ``module`` imports at run time (a package import counts as its own)."""
    return {i.module for i in imports_of(module) if i.ours and not i.type_only}


@pytest.mark.parametrize("module", sorted(set(MODULES) - RUNS_ON_IMPORT))
def test_every_module_imports(module: str) -> None:
    importlib.import_module(f"sheetledger.{module}" if module else "sheetledger")


def test_the_walk_sees_every_module_pkgutil_sees() -> None:
    walked = {
        info.name.removeprefix("sheetledger.")
        for info in pkgutil.walk_packages(sheetledger.__path__, "sheetledger.")
    }
    assert walked <= set(MODULES)


@pytest.mark.parametrize("module", PRODUCT)
def test_a_client_library_is_imported_only_by_its_adapter(module: str) -> None:
    wrong = [
        f"line {i.line}: {i.module}"
        for i in imports_of(module)
        if not i.ours
        and not i.type_only
        and i.module.split(".")[0] in CLIENT_LIBRARIES
        and module not in CLIENT_LIBRARIES[i.module.split(".")[0]]
    ]
    assert wrong == [], f"{module} imports a service's client library: {wrong}"


def test_adapters_never_import_planners() -> None:
    wrong = {
        adapter: sorted(_ours(adapter) & PLANNERS)
        for adapters in ADAPTERS.values()
        for adapter in adapters
        if _ours(adapter) & PLANNERS
    }
    assert wrong == {}


@pytest.mark.parametrize("module", PRODUCT)
def test_the_product_never_imports_the_sandbox(module: str) -> None:
    wrong = [
        f"line {i.line}: {i.module}"
        for i in imports_of(module)
        if i.ours
        and (i.module == "sandbox" or i.module.startswith("sandbox."))
        and module.split(".")[0] not in SANDBOX_USERS
        and (module, i.function) not in SANDBOX_COMMANDS
    ]
    assert wrong == [], f"{module} loads the sandbox: {wrong}"


def test_only_the_composition_root_imports_the_three_adapters_together() -> None:
    def services(module: str) -> set[str]:
        used = _ours(module) | {module}
        return {service for service, adapters in ADAPTERS.items() if used & adapters}

    together = [m for m in PRODUCT if len(services(m)) == len(ADAPTERS)]
    assert together == [COMPOSITION_ROOT]


@pytest.mark.parametrize("module", PRODUCT)
def test_a_local_import_says_why_it_is_local(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").splitlines()
    unexplained = []
    for item in imports_of(module):
        if item.function is None or item.type_only:
            continue
        near = " ".join(lines[max(0, item.line - 3) : item.line]).lower()
        if not any(reason in near for reason in LOCAL_IMPORT_REASONS):
            unexplained.append(f"line {item.line} in {item.function}(): {item.module}")
    assert unexplained == [], (
        f"{module}: a function-local import needs a comment naming its reason "
        f"({' / '.join(LOCAL_IMPORT_REASONS)}): {unexplained}"
    )


def test_the_rules_can_fail() -> None:
    """The checks see what they look for (a rule that sees nothing proves nothing)."""
    assert "crm.amocrm" in _ours(COMPOSITION_ROOT)
    assert any(i.function == "cmd_sandbox" and "sandbox" in i.module for i in imports_of("cli"))
    assert any(i.module.startswith("sandbox.") for i in imports_of("demo.start"))
    assert any(i.module == "gspread" for i in imports_of("ledger.sheets"))
    assert {"sync.plan", "crm.pusher"} <= _ours("sync.cycle")
