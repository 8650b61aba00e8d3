"""pytest fixtures that run streamput-mock, an AList/OpenList stand-in, for the test that asks.

    def test_upload(streamput_mock):
        urllib.request.urlopen(urllib.request.Request(
            streamput_mock.url + "/api/fs/put", data=b"hi", method="PUT",
            headers={"File-Path": "/a.txt"}))
        assert (streamput_mock.root / "a.txt").read_bytes() == b"hi"
        assert streamput_mock.wait_for("/a.txt")["multipart_suspected"] is False

streamput_mock is a started Mock (url, root, requests(), clear(), wait_for(), log()), stopped at
the end of the test; streamput_mock_factory(token=, profile=, args=[...]) starts more, each
with options of its own. The binary is --streamput-mock=PATH, else $STREAMPUT_MOCK, else
streamput-mock on PATH. Enabled with -p pytest_streamput, or by installing the package (its
pytest11 entry point).
"""

import pytest

from .mock import Mock, MockError, MockNotFoundError, find_mock, stop_all

__all__ = ["Mock", "MockError", "MockNotFoundError", "find_mock"]


def pytest_addoption(parser):
    group = parser.getgroup("streamput", "streamput-mock fixtures")
    group.addoption("--streamput-mock", metavar="PATH", default=None,
                    help="the streamput-mock binary to run (default: $STREAMPUT_MOCK, then "
                         "streamput-mock on PATH)")


def pytest_report_header(config):
    try:
        return f"streamput-mock: {find_mock(config.getoption('streamput_mock'))}"
    except MockNotFoundError as e:
        return f"streamput-mock: {e}"


def pytest_unconfigure(config):
    # Teardown stops every mock a fixture started; this catches what an interrupted run or a
    # Mock made by hand left behind, so none outlives the session.
    stop_all()


@pytest.fixture
def streamput_mock_factory(request, tmp_path):
    """Starts mocks: factory(token=None, profile=None, args=(), root=None, binary=None,
    startup_timeout=10.0) returns a started Mock; every one is stopped at the end of the test,
    and one that did not exit cleanly (status 0 on SIGTERM) fails the test's teardown."""
    explicit = request.config.getoption("streamput_mock")
    started = []

    def factory(token=None, profile=None, args=(), root=None, binary=None,
                startup_timeout=10.0):
        work = tmp_path / f"streamput-mock-{len(started) + 1}"
        try:
            m = Mock(root if root is not None else work / "root", work,
                     binary=binary if binary is not None else explicit, token=token,
                     profile=profile, args=args, startup_timeout=startup_timeout)
        except MockError as e:
            failure = str(e)
        else:
            started.append(m)
            return m
        # Outside the except block, so that the report is the message alone, not a chain.
        pytest.fail(failure, pytrace=False)

    yield factory
    errors = []
    for m in started:
        # A mock the test stopped itself was its business; any other must end well.
        if m.returncode is None:
            try:
                m.check_stopped()
            except MockError as e:
                errors.append(str(e))
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.fixture
def streamput_mock(streamput_mock_factory):
    """A streamput-mock with the default options (guest access, OpenList's rules) on a free
    127.0.0.1 port, storing beneath a fresh temporary root."""
    return streamput_mock_factory()
