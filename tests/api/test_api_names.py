"""Every name of the Python API resolves to what it documents, even after all subpackages are
imported (a subpackage named like a lazy attribute would shadow it)."""

from __future__ import annotations

import importlib
import pkgutil

import asymap


def test_api_names_are_callables_after_importing_everything():
    for mod in pkgutil.walk_packages(asymap.__path__, "asymap."):
        importlib.import_module(mod.name)
    for name in asymap.__all__:
        if name == "__version__":
            continue
        obj = getattr(asymap, name)
        assert callable(obj) and not isinstance(obj, type(asymap)), name
