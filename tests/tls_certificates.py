"""Certificates for a Dask cluster over TLS, made at test time with the openssl commands the
README gives (``tests/test_cluster_tls.py`` checks that the README still says these).

``make_certificates(folder)`` writes a certificate authority of its own (``ca.pem``,
``ca-key.pem``) and one key and certificate signed by it (``node-key.pem``, ``node.pem``),
and returns the three files the cluster's machines need.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

OPENSSL_COMMANDS = (
    'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 '
    '-subj "/CN=course grading CA" -addext "basicConstraints=critical,CA:TRUE" '
    '-addext "keyUsage=critical,keyCertSign" -keyout ca-key.pem -out ca.pem',
    'openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes '
    '-subj "/CN=course grading" -keyout node-key.pem -out node.csr',
    'openssl x509 -req -in node.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 365 '
    '-out node.pem',
)


def make_certificates(folder: Path) -> dict:
    """Run the README's openssl commands in ``folder``; the files a machine needs, by the
    names :func:`course.grade.dask_cluster.cluster_security` takes."""
    assert shutil.which("openssl"), "the openssl command is needed (apt-get install openssl)"
    folder.mkdir(parents=True, exist_ok=True)
    for command in OPENSSL_COMMANDS:
        result = subprocess.run(shlex.split(command), cwd=folder, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, f"{command}\n{result.stderr}"
    return {"ca_file": str(folder / "ca.pem"), "cert": str(folder / "node.pem"),
            "key": str(folder / "node-key.pem")}


def cluster_security(files: dict):
    """The scheduler's and the workers' TLS settings, as ``dask scheduler`` and ``dask
    worker`` build them from ``--tls-ca-file --tls-cert --tls-key`` (and the client's, for
    the cluster's own client)."""
    from distributed.security import Security

    roles = {}
    for role in ("scheduler", "worker", "client"):
        roles[f"tls_{role}_cert"], roles[f"tls_{role}_key"] = files["cert"], files["key"]
    return Security(tls_ca_file=files["ca_file"], require_encryption=True, **roles)


def grader_options(files: dict) -> list[str]:
    """The grader's command-line options for these files (``make grade TLS_CA=...``)."""
    return ["--tls-ca-file", files["ca_file"], "--tls-cert", files["cert"],
            "--tls-key", files["key"]]
