"""procshare across machines, with network namespaces standing in for the
machines: the daemon in namespace A, clients in B and C, each joined to A
by a veth link of its own.

    B 10.77.1.2 ---- 10.77.1.1 A 10.77.2.1 ---- 10.77.2.2 C
                      procshared on both, port 7077

C clients (netclient.c, the procshare tool) and Python clients
(netclient.py) share a dict, a queue and a lock over encrypted TCP; then a
link is cut under a client that holds a lock, and the lock must go to a
client waiting on the other link once the daemon's keepalive has found the
silence (PROTOCOL.md section 1: within IDLE + INTERVAL x COUNT seconds).
"""

import subprocess
import time

import pytest

from nettools import CALL_S, CLI, Client, Daemon, cli, client_env, in_ns, marker, wait_for

PORT = 7077
HUB_B, ADDR_B = "10.77.1.1", "10.77.1.2"
HUB_C, ADDR_C = "10.77.2.1", "10.77.2.2"
DEV = "hub"             # each client namespace's end of its link

# The link-cut test's daemon drops a silent peer after 1 s idle and 2
# unanswered probes 1 s apart: the documented bound is 1 + 1 x 2 = 3 s.
KEEPALIVE = (1, 1, 2)
BOUND_S = KEEPALIVE[0] + KEEPALIVE[1] * KEEPALIVE[2]
# Beyond the bound: the kernel's timer ticks, the daemon's loop turn and
# the waiter's answer crossing the link, on a loaded machine.
MARGIN_S = 3.0


class Site:
    """Namespaces A (the daemon), B and C, linked as in the module's
    docstring, and the daemon once started."""

    def __init__(self, net, tmp_path):
        self.net = net
        self.tmp = tmp_path
        self.a, self.b, self.c = net.add(3)
        net.link(self.a, "to-b", HUB_B + "/24", self.b, DEV, ADDR_B + "/24")
        net.link(self.a, "to-c", HUB_C + "/24", self.c, DEV, ADDR_C + "/24")
        self.daemon = None
        self.env = {}

    def start(self, extra=()):
        self.daemon = Daemon(self.net, self.a,
                             ["tcp://%s:%d" % (HUB_B, PORT), "tcp://%s:%d" % (HUB_C, PORT)],
                             self.tmp, extra)
        for ns, hub in ((self.b, HUB_B), (self.c, HUB_C)):
            self.env[ns] = client_env("tcp://%s:%d" % (hub, PORT), self.daemon.keyfile)

    def client(self, ns, kind):
        return Client(self.net, ns, kind, self.env[ns])

    def cli(self, ns, *args):
        return cli(ns, self.env[ns], *args)

    def stop(self):
        """Stops the daemon, which must exit cleanly."""
        if self.daemon is not None:
            self.daemon.stop()


@pytest.fixture
def site(net, tmp_path):
    s = Site(net, tmp_path)
    yield s
    s.stop()


def lock_state(site, ns, name):
    for entry in site.cli(ns, "locks"):
        if entry["name"] == name:
            return entry
    raise AssertionError("no lock %r in procshare locks" % name)


def queue_waiters(site, ns, name):
    return len(site.cli(ns, "show", name)["describe"]["waiters"])


def test_dict_queue_and_lock_shared_over_encrypted_links(site):
    site.start()
    c = site.client(site.b, "c")
    py = site.client(site.c, "python")
    # Both sessions are encrypted by default over TCP, as the daemon (and
    # the tool's own session, the third) sees them too.
    assert c.encrypted and py.encrypted
    assert c.call("enc") == ["1"] and py.call("enc") == ["1"]
    info = site.cli(site.b, "info")
    assert (info["connections"], info["connections_encrypted"]) == (3, 3), info
    # The daemon requires encryption over TCP: a plaintext client is refused.
    env = dict(site.env[site.c], PROCSHARE_ENCRYPTION="off")
    r = subprocess.run(in_ns(site.c, [CLI, "info"]), env=env, capture_output=True, text=True,
                       timeout=CALL_S)
    assert r.returncode != 0 and "EncryptionRequired" in r.stderr, r

    # dict: each side reads what the other wrote; the tool sees both.
    v_c, v_py = marker(), marker()
    c.call("dset shared from_c " + v_c)
    assert py.call("dget shared from_c") == [v_c]
    py.call("dset shared from_py " + v_py)
    assert c.call("dget shared from_py") == [v_py]
    assert site.cli(site.c, "show", "shared")["value"] == {"from_c": v_c, "from_py": v_py}

    # queue: one FIFO for both, and a get parked in the daemon that a put
    # from the other namespace answers.
    c.call("qput jobs first")
    py.call("qput jobs second")
    assert py.call("qget jobs 5") == ["first"]
    assert c.call("qget jobs 5") == ["second"]
    py.send("qget handoff %d" % CALL_S)
    wait_for(lambda: queue_waiters(site, site.b, "handoff") == 1, "the parked get", CALL_S)
    assert not py.answered()
    c.call("qput handoff across")
    assert py.answer() == ["across"]

    # lock: held in B, so C cannot take it; C's waiter gets it when B
    # releases, with a larger fencing token.
    held = c.call("acquire L 0")
    assert held[0] == "1", held
    assert py.call("acquire L 0")[0] == "0"
    py.send("acquire L %d" % CALL_S)
    wait_for(lambda: len(lock_state(site, site.b, "L")["waiters"]) == 1, "C waiting on L",
             CALL_S)
    assert not py.answered()
    c.call("release L")
    got = py.answer()
    assert got[0] == "1" and int(got[1]) > int(held[1]) and got[2] == "0", got
    py.call("release L")
    c.quit()
    py.quit()


@pytest.mark.parametrize("holder,waiter", [("c", "python"), ("python", "c")],
                         ids=["c-holds", "python-holds"])
def test_cut_link_frees_the_lock_within_the_keepalive_bound(site, holder, waiter):
    site.start(["--tcp-keepalive", "%d,%d,%d" % KEEPALIVE])
    h = site.client(site.b, holder)
    w = site.client(site.c, waiter)
    assert h.encrypted and w.encrypted
    held = h.call("acquire L 0")
    assert held[0] == "1", held

    # Alive but idle for longer than the bound, the holder keeps the lock:
    # its kernel answers the probes.
    timeout = BOUND_S + 1
    assert w.call("acquire L %d" % timeout, CALL_S + timeout)[0] == "0"

    w.send("acquire L %d" % CALL_S)
    wait_for(lambda: len(lock_state(site, site.c, "L")["waiters"]) == 1, "C waiting on L",
             CALL_S)
    assert not w.answered()

    # The cut: B's end of its link goes down, so nothing reaches B and
    # nothing comes back (no FIN, no RST): the daemon only hears silence.
    before = time.monotonic()
    site.net.ip("-n", site.b, "link", "set", DEV, "down")
    after = time.monotonic()

    got = w.answer(BOUND_S + MARGIN_S + CALL_S)
    acquired, token, abandoned, when = int(got[0]), int(got[1]), int(got[2]), float(got[3])
    assert acquired == 1, got
    assert abandoned == 1, "the waiter was not told the holder died: %r" % got
    assert token > int(held[1])
    assert when > after, "the lock was taken %.3f s before the link was cut" % (after - when)
    took = when - before
    assert took <= BOUND_S + MARGIN_S, (
        "the lock was freed %.2f s after the cut; the bound is %d s (+ %.1f s margin)"
        % (took, BOUND_S, MARGIN_S))
    print("lock freed %.2f s after the cut (bound %d s)" % (took, BOUND_S))
    w.quit()
