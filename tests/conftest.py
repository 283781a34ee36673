import os

import pytest
from hypothesis import settings

import fastdense


def pytest_configure(config):
    # Run from a source checkout, `python -m pytest` imports the fastdense beside the tests;
    # if its kernels were never compiled, every test module would fail to import: say why, once.
    package_dir = os.path.dirname(fastdense.__file__)
    if fastdense._simd._extension_file(package_dir, "_kernels") is None:
        pytest.exit(
            f"fastdense at {package_dir} has no compiled kernels. Build them in place (`pip "
            "install -e .` or `python setup.py build_ext --inplace`), or test the installed "
            "package: `pip install '.[test]'`, then `pytest` (not `python -m pytest`) from the "
            "repository root.",
            returncode=4,
        )


def pytest_report_header(config):
    return f"fastdense {fastdense.__version__} from {fastdense.__file__}"


# Few examples under valgrind (tools/check_memory.sh), where everything is ~50x slower.
settings.register_profile("valgrind", max_examples=5, deadline=None)
