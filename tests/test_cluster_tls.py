"""The grader's side of a Dask cluster over TLS (course/grade/dask_cluster.py): which
settings it accepts, what it refuses, and that a TLS scheduler refuses a client without a
certificate of the course's own authority.  The full grading run over TLS is in
tests/test_parallel_grading.py."""

from __future__ import annotations

import re

import dask
import pytest

from course.grade.dask_cluster import cluster_security
from tests.submissions import REPO
from tests.tls_certificates import OPENSSL_COMMANDS
from tests.tls_certificates import cluster_security as cluster_side
from tests.tls_certificates import make_certificates

NO_DASK_TLS = {"distributed.comm.tls.ca-file": None, "distributed.comm.tls.client.cert": None,
               "distributed.comm.tls.client.key": None}


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certs"))


def test_a_plain_address_warns_on_stderr(capsys):
    assert cluster_security("tcp://10.0.0.1:8786") is None
    error = capsys.readouterr().err
    assert "WARNING: tcp://10.0.0.1:8786 is a plain connection" in error and "tls://" in error


def test_tls_files_give_mutual_tls(certificates, capsys):
    security = cluster_security("tls://10.0.0.1:8786", **certificates)
    assert security.require_encryption
    assert (security.tls_ca_file, security.tls_client_cert, security.tls_client_key) == (
        certificates["ca_file"], certificates["cert"], certificates["key"])
    assert capsys.readouterr().err == ""


def test_dask_configuration_is_the_alternative(certificates):
    settings = {"distributed.comm.tls.ca-file": certificates["ca_file"],
                "distributed.comm.tls.client.cert": certificates["cert"],
                "distributed.comm.tls.client.key": certificates["key"]}
    with dask.config.set(settings):
        security = cluster_security("tls://10.0.0.1:8786")
    assert security.tls_client_cert == certificates["cert"] and security.require_encryption


def test_tls_without_certificates_is_an_error():
    with dask.config.set(NO_DASK_TLS), pytest.raises(ValueError, match="needs certificates"):
        cluster_security("tls://10.0.0.1:8786")


def test_incomplete_or_missing_files_are_errors(certificates, tmp_path):
    partial = dict(certificates, key=None)
    with pytest.raises(ValueError, match="missing: --tls-key"):
        cluster_security("tls://10.0.0.1:8786", **partial)
    with pytest.raises(ValueError, match="--tls-cert: no such file"):
        cluster_security("tls://10.0.0.1:8786", **dict(certificates,
                                                       cert=tmp_path / "none.pem"))
    with pytest.raises(ValueError, match="not a tls:// address"):
        cluster_security("tcp://10.0.0.1:8786", **certificates)


def test_a_tls_scheduler_refuses_clients_without_the_courses_certificate(certificates,
                                                                        tmp_path):
    from distributed import Client, LocalCluster

    intruder = make_certificates(tmp_path / "intruder")  # a certificate authority of its own
    with LocalCluster(n_workers=0, processes=False, host="127.0.0.1", protocol="tls://",
                      security=cluster_side(certificates),
                      dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        with Client(address, security=cluster_security(address, **certificates),
                    timeout="20s") as client:
            assert client.scheduler_info()["address"] == address
        with pytest.raises(OSError, match="certificate"):  # another authority: refused
            Client(address, security=cluster_security(address, **intruder), timeout="3s")
        with pytest.raises(OSError):  # plain TCP to a TLS listener: reset
            Client(address.replace("tls://", "tcp://"), timeout="3s")


def test_the_readme_gives_these_openssl_commands():
    """tests/tls_certificates.py runs the README's recipe: the two must not drift apart."""
    readme = re.sub(r"\\\n\s*", "", (REPO / "README.md").read_text())
    readme = re.sub(r" +", " ", readme)
    for command in OPENSSL_COMMANDS:
        assert command in readme, command
