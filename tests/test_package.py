"""The package as a user imports it: every module loads first in a fresh interpreter
(``from companion.data_extra import load_imdb`` failed on a circular import before
``companion/__init__`` loaded the modules that re-export it)."""

import subprocess
import sys

CHECK = """
import importlib, pkgutil, sys
import companion
names = sorted(m.name for m in pkgutil.walk_packages(companion.__path__, "companion."))
failed = []
for name in names:
    for key in [k for k in sys.modules if k == "companion" or k.startswith("companion.")]:
        del sys.modules[key]        # torch stays loaded: each module is imported first, cheaply
    try:
        importlib.import_module(name)
    except Exception as error:
        failed.append(f"{name}: {error!r}")
print(len(names))
print("\\n".join(failed))
"""


def test_every_module_imports_first_in_a_fresh_interpreter():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    count, *failed = done.stdout.strip().split("\n")
    assert int(count) > 50 and not [f for f in failed if f], failed
