"""What a wire tap sees. tcpdump captures a daemon's port on the loopback
while a client stores distinctive values (a dict value, a queue item) and
reads them back. With the defaults (TCP encryption required by the daemon,
auto in the client) none of the values appear anywhere in the captured
bytes; with encryption off on both sides each appears in both directions,
which shows the capture would have caught them. For the C client
(netclient.c) and the Python client (netclient.py).
"""

import os
import shutil
import socket

import pytest

from nettools import (Capture, Client, Daemon, cli, client_env, marker, read_pcap,
                      sessions_closed, streams, wait_for)

CAPTURE_S = 10.0        # for the end of every session to reach the file


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def tcpdump():
    if os.geteuid() != 0:
        pytest.skip("capturing packets needs root (running as uid %d)" % os.geteuid())
    if shutil.which("tcpdump") is None:
        pytest.skip("the capture test needs tcpdump (apt-get install tcpdump)")


@pytest.mark.parametrize("kind", ["c", "python"])
@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plaintext"])
def test_captured_session_reveals_values_only_in_plaintext(tcpdump, net, tmp_path, kind,
                                                           encrypted):
    port = free_port()
    address = "tcp://127.0.0.1:%d" % port
    daemon = Daemon(net, None, [address], tmp_path,
                    () if encrypted else ("--tcp-encryption", "off"))
    pcap = tmp_path / "session.pcap"
    cap = Capture(net, None, "lo", port, pcap)
    env = client_env(address, daemon.keyfile, None if encrypted else "off")
    values = {"dict value": marker(), "queue item": marker()}

    client = Client(net, None, kind, env)
    assert client.encrypted == encrypted
    # The daemon's view, from a second session (the procshare tool's).
    info = cli(None, env, "info")
    assert info["connections"] == 2
    assert info["connections_encrypted"] == (2 if encrypted else 0), info
    client.call("dset secrets k " + values["dict value"])
    assert client.call("dget secrets k") == [values["dict value"]]
    client.call("qput secretq " + values["queue item"])
    assert client.call("qget secretq 5") == [values["queue item"]]
    client.quit()

    # Both sessions have ended in both directions in the file: every
    # byte they carried is in it.
    wait_for(lambda: sessions_closed(cap.packets(), port, 2), "both sessions in the capture",
             CAPTURE_S)
    captured = cap.stop()
    daemon.stop()

    to_daemon, from_daemon = streams(read_pcap(pcap, port), port)
    assert captured > 0 and to_daemon and from_daemon, "the capture holds no traffic"
    # The handshake records travel in clear either way: this is the session.
    assert b"PCLI" in to_daemon and b"PSRV" in from_daemon
    with open(pcap, "rb") as f:
        raw = f.read()
    for what, value in values.items():
        value = value.encode()
        sent, read, anywhere = value in to_daemon, value in from_daemon, value in raw
        if encrypted:
            assert not anywhere, "the %s travelled in clear in an encrypted session" % what
        else:
            assert sent, "the %s sent in plaintext is not in the capture" % what
            assert read, "the %s read back in plaintext is not in the capture" % what
