"""One release per session for the release tests: hack/release.sh into a local registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from awsorg_devstack.release import Release, ReleaseFailedError, cut_release


@pytest.fixture(scope="package")
def release(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    try:
        with cut_release(tmp_path_factory.mktemp("release")) as cut:
            yield cut
    except ReleaseFailedError as e:
        pytest.fail(str(e))
