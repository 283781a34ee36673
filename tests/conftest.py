import fastdense


def pytest_report_header(config):
    return f"fastdense {fastdense.__version__} from {fastdense.__file__}"
