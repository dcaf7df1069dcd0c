"""Ship the released model (``model/``, a DVC output at the repository root) inside the wheel.

Everything else is in ``pyproject.toml``. The artifact cannot live in the package folder: it is
an output of the evaluate stage, which depends on the package. So a wheel build copies it to
``transit_classifier/release/``, where :func:`transit_classifier.serve.artifact.default_model_dir`
looks first; an editable install keeps reading the repository's ``model/``.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RELEASE = Path(__file__).parent / "model"


class BuildWithModel(build_py):
    """``build_py`` that also copies the released model into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "transit_classifier" / "release"
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(RELEASE.iterdir()):
            shutil.copyfile(path, target / path.name)


setup(cmdclass={"build_py": BuildWithModel})
