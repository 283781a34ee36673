import fastdense


def pytest_report_header(config):
    return f"fastdense {fastdense.__version__} from {fastdense.__file__}"

from hypothesis import settings

# Few examples under valgrind (tools/check_memory.sh), where everything is ~50x slower.
settings.register_profile("valgrind", max_examples=5, deadline=None)
