"""Helpers of the network tests: network namespaces joined by veth links,
a procshared started in one of them, line-driven clients (netclient.c and
netclient.py) and the procshare command line tool in others, and tcpdump
captures with a reader for the pcap files they write.

Every wait has a deadline and waits for a condition (a line on a pipe, a
process's exit, a packet in a capture file); every process is stopped by
its pid, and dies with the test run anyway (PR_SET_PDEATHSIG).
"""

import ctypes
import json
import os
import secrets
import select
import signal
import string
import struct
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("PS_BUILD") or os.path.join(REPO, "build")
DAEMON = os.environ.get("PROCSHARE_DAEMON") or os.path.join(BUILD, "procshared")
CLI = os.path.join(BUILD, "procshare")
C_CLIENT = os.path.join(BUILD, "tests", "net", "netclient")
PY_CLIENT = os.path.join(HERE, "netclient.py")
# Namespaces are called PREFIX-N; scripts/run-net-tests.sh removes any left
# over with its prefix (a run killed before its teardowns).
PREFIX = os.environ.get("PS_NET_PREFIX") or "psnet%d" % os.getpid()

START_S = 10.0          # a daemon or a tool to become ready
STOP_S = 5.0            # a process to exit once told to
CALL_S = 20.0           # one client command to be answered

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # Runs in the child between fork and exec: nothing outlives the run.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def in_ns(ns, argv):
    """argv run inside network namespace ns (None: the test's own)."""
    return list(argv) if ns is None else ["ip", "netns", "exec", ns, *argv]


def marker():
    """A distinctive 24-character word (a value nothing else contains)."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(24))


def wait_for(cond, what, timeout):
    """Polls cond() until it is true; fails the test at the deadline."""
    end = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(0.02)


class Lines:
    """The lines a child writes on a pipe, read with deadlines."""

    def __init__(self, pipe):
        self.fd = pipe.fileno()
        self.buf = b""
        self.eof = False
        self.seen = []          # every line read, for failure messages

    def _fill(self, timeout):
        r, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if r:
            chunk = os.read(self.fd, 65536)
            if chunk:
                self.buf += chunk
            else:
                self.eof = True

    def line(self, timeout):
        """The next line, or None at end of file; AssertionError at the
        deadline."""
        end = time.monotonic() + timeout
        while b"\n" not in self.buf and not self.eof:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("no line within %.1f s (so far: %r)" % (timeout, self.seen))
            self._fill(left)
        if b"\n" not in self.buf:
            if not self.buf:
                return None
            self.buf += b"\n"
        raw, _, self.buf = self.buf.partition(b"\n")
        text = raw.decode("utf-8", "replace")
        self.seen.append(text)
        return text

    def waiting(self):
        """True when a line (or the end of file) has arrived, without
        waiting for one."""
        while not self.eof:
            r, _, _ = select.select([self.fd], [], [], 0)
            if not r:
                break
            self._fill(0)
        return b"\n" in self.buf or self.eof

    def rest(self, timeout):
        """Every line until end of file (the writer exits)."""
        out = []
        while True:
            text = self.line(timeout)
            if text is None:
                return out
            out.append(text)


class Proc:
    """A child process that the test stops by its pid."""

    def __init__(self, name, argv, env=None, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                 stderr=None, pass_fds=()):
        self.name = name
        self.argv = argv
        self.p = subprocess.Popen(argv, env=env, stdin=stdin, stdout=stdout, stderr=stderr,
                                  pass_fds=pass_fds, preexec_fn=_die_with_parent)
        self.pid = self.p.pid

    def wait(self, timeout):
        """The exit status; AssertionError when still running at the
        deadline."""
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s (pid %d) still running after %.1f s"
                                 % (self.name, self.pid, timeout)) from None

    def stop(self, sig=signal.SIGTERM):
        """Signals the process (when still running), waits for it, then
        kills it at the deadline. Returns its exit status."""
        if self.p.poll() is None:
            os.kill(self.pid, sig)
            try:
                self.p.wait(STOP_S)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait(STOP_S)
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            if f is not None:
                f.close()
        return self.p.returncode


class Net:
    """Network namespaces made by the test and the processes run in them.
    close() stops the processes, then deletes the namespaces (and with them
    their veth ends)."""

    def __init__(self):
        self.names = []
        self.procs = []
        self.daemons = []

    @staticmethod
    def _ip(*args):
        return subprocess.run(["ip", *args], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=30)

    def ip(self, *args):
        r = self._ip(*args)
        if r.returncode != 0:
            raise AssertionError("ip %s: %s" % (" ".join(args), r.stderr.strip()))
        return r.stdout

    def add(self, count):
        """Makes count namespaces, each with its loopback up, and returns
        their names; skips the test where namespaces cannot be made."""
        if os.geteuid() != 0:
            pytest.skip("network namespaces need root (running as uid %d)" % os.geteuid())
        try:
            self._ip("-V")
        except FileNotFoundError:
            pytest.skip("network namespaces need iproute2's ip, which is not installed")
        made = []
        for _ in range(count):
            name = "%s-%d" % (PREFIX, next_serial())
            r = self._ip("netns", "add", name)
            if r.returncode != 0:
                pytest.skip("cannot create a network namespace (ip netns add %s: %s)"
                            % (name, r.stderr.strip()))
            self.names.append(name)
            made.append(name)
            self.ip("-n", name, "link", "set", "lo", "up")
        return made

    def link(self, a, a_dev, a_addr, b, b_dev, b_addr):
        """A veth pair between namespaces a and b, addresses given as
        "10.77.1.1/24", both ends up; skips where veth is unavailable."""
        r = self._ip("-n", a, "link", "add", a_dev, "type", "veth", "peer", "name", b_dev,
                     "netns", b)
        if r.returncode != 0:
            pytest.skip("cannot create a veth pair (%s)" % r.stderr.strip())
        self.ip("-n", a, "addr", "add", a_addr, "dev", a_dev)
        self.ip("-n", b, "addr", "add", b_addr, "dev", b_dev)
        self.ip("-n", a, "link", "set", a_dev, "up")
        self.ip("-n", b, "link", "set", b_dev, "up")

    def spawn(self, ns, name, argv, **kw):
        p = Proc(name, in_ns(ns, argv), **kw)
        self.procs.append(p)
        return p

    def close(self):
        errors = []
        for d in self.daemons:
            # pytest shows this only for a test that failed.
            print("---- log of procshared (pid %d) ----\n%s" % (d.proc.pid, d.log()))
        for p in reversed(self.procs):
            p.stop(signal.SIGKILL)
        self.procs = []
        for name in reversed(self.names):
            r = self._ip("netns", "del", name)
            if r.returncode != 0:
                errors.append("ip netns del %s: %s" % (name, r.stderr.strip()))
        self.names = []
        if errors:
            raise AssertionError("; ".join(errors))


_serial = [0]


def next_serial():
    _serial[0] += 1
    return _serial[0]


def write_key(path):
    """A random 32-byte authkey, mode 0600 (not ending in a newline, which
    a key file may not)."""
    key = os.urandom(31) + b"k"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


class Daemon:
    """A procshared started by net (a Net) in namespace ns (None: the
    test's own) on the listen addresses given, ready once it wrote READY on
    its --ready-fd. Its log is printed when net closes."""

    def __init__(self, net, ns, listens, tmpdir, extra=()):
        self.keyfile = os.path.join(str(tmpdir), "authkey")
        self.logfile = os.path.join(str(tmpdir), "procshared.log")
        write_key(self.keyfile)
        argv = [DAEMON, "--config", "/dev/null", "--authkey-file", self.keyfile,
                "--log-level", "info"]
        for addr in listens:
            argv += ["--listen", addr]
        rfd, wfd = os.pipe()
        argv += ["--ready-fd", str(wfd), *extra]
        with open(self.logfile, "ab") as log:
            self.proc = net.spawn(ns, "procshared", argv, stdout=log, stderr=log,
                                  pass_fds=(wfd,))
        os.close(wfd)
        net.daemons.append(self)
        with os.fdopen(rfd, "rb", buffering=0) as ready:
            try:
                line = Lines(ready).line(START_S)
            except AssertionError:
                line = None
        if line != "READY":
            self.proc.stop()
            raise AssertionError("procshared did not start (%r, exit %s):\n%s"
                                 % (line, self.proc.p.returncode, self.log()))

    def log(self):
        with open(self.logfile, errors="replace") as f:
            return f.read()

    def stop(self):
        """SIGTERM; the daemon must exit 0 (a sanitizer build fails it on
        leaks)."""
        status = self.proc.stop()
        assert status == 0, "procshared exited with %s:\n%s" % (status, self.log())


def client_env(address, keyfile, encryption=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCSHARE_")}
    env["PROCSHARE_ADDRESS"] = address
    env["PROCSHARE_AUTHKEY_FILE"] = keyfile
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if encryption is not None:
        env["PROCSHARE_ENCRYPTION"] = encryption
    return env


class Client:
    """netclient.c ("c") or netclient.py ("python"), started by net in
    namespace ns and driven line by line."""

    def __init__(self, net, ns, kind, env):
        argv = [C_CLIENT] if kind == "c" else [sys.executable, PY_CLIENT]
        self.kind = kind
        self.proc = net.spawn(ns, "%s client" % kind, argv, env=env, stdin=subprocess.PIPE)
        self.out = Lines(self.proc.p.stdout)
        words = self._line(START_S).split()
        assert words[:1] == ["ready"], "the %s client did not connect: %s" % (kind,
                                                                            " ".join(words))
        self.encrypted = words[1] == "1"

    def _line(self, timeout):
        text = self.out.line(timeout)
        assert text is not None, "the %s client exited (status %s) after %r" % (
            self.kind, self.proc.p.poll(), self.out.seen)
        return text

    def send(self, command):
        self.proc.p.stdin.write(command.encode() + b"\n")
        self.proc.p.stdin.flush()

    def answer(self, timeout=CALL_S):
        """The words after "ok" of the next answer; AssertionError on an
        "err" answer."""
        text = self._line(timeout)
        assert text.startswith("ok"), "the %s client answered %r" % (self.kind, text)
        return text.split()[1:]

    def call(self, command, timeout=CALL_S):
        self.send(command)
        return self.answer(timeout)

    def answered(self):
        """Whether an answer is waiting, without waiting for one."""
        return self.out.waiting()

    def quit(self):
        """Ends the session; the client must exit 0."""
        self.send("quit")
        status = self.proc.wait(STOP_S)
        assert status == 0, "the %s client exited with %s" % (self.kind, status)


def cli(ns, env, *args):
    """The procshare tool's JSON answer (run in namespace ns)."""
    r = subprocess.run(in_ns(ns, [CLI, "--json", *args]), env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=CALL_S + 10)
    assert r.returncode == 0, "procshare %s: exit %d: %s" % (" ".join(args), r.returncode,
                                                            r.stderr.strip())
    return json.loads(r.stdout)


# ---- captures ---------------------------------------------------------------

class Capture:
    """tcpdump writing the TCP traffic of one port on one interface to a
    pcap file, packet by packet (-U, --immediate-mode), as root (-Z root:
    it must not drop privileges before opening the file)."""

    def __init__(self, net, ns, iface, port, path):
        self.path = str(path)
        self.port = port
        argv = ["tcpdump", "-i", iface, "-n", "-s", "0", "-U", "--immediate-mode", "-Z", "root",
                "-w", self.path, "tcp port %d" % port]
        self.proc = net.spawn(ns, "tcpdump", argv, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
        self.err = Lines(self.proc.p.stderr)
        while True:
            text = self.err.line(START_S)
            assert text is not None, "tcpdump exited: %r" % self.err.seen
            if "listening on" in text:
                break

    def packets(self):
        return read_pcap(self.path, self.port)

    def stop(self):
        """Stops tcpdump by its pid (SIGINT, as ^C) and returns the number
        of packets it says it captured."""
        os.kill(self.proc.pid, signal.SIGINT)
        status = self.proc.wait(STOP_S)
        lines = self.err.rest(STOP_S)
        self.proc.stop()
        assert status == 0, "tcpdump exited with %s: %r" % (status, self.err.seen)
        for text in lines:
            if text.endswith("packets captured"):
                return int(text.split()[0])
        raise AssertionError("tcpdump did not say how many packets it captured: %r" % lines)


class Packet:
    __slots__ = ("sport", "dport", "flags", "payload")

    FIN, SYN, RST = 0x01, 0x02, 0x04

    def __init__(self, sport, dport, flags, payload):
        self.sport, self.dport, self.flags, self.payload = sport, dport, flags, payload


# Link-layer header lengths by pcap link type: Ethernet (what Linux's
# loopback and veth give), Linux cooked v1 and v2 (the "any" device).
_LINK_HEADER = {1: 14, 113: 16, 276: 20}


def read_pcap(path, port):
    """The TCP segments of a pcap file (IPv4 or IPv6 without extension
    headers) to or from port. A record still being written at the end is
    left out."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise AssertionError("%s is not a pcap file" % path)
    linktype = struct.unpack(end + "I", data[20:24])[0] & 0x0FFFFFFF
    skip = _LINK_HEADER.get(linktype)
    assert skip is not None, "unexpected pcap link type %d" % linktype
    out = []
    pos = 24
    while pos + 16 <= len(data):
        caplen = struct.unpack(end + "I", data[pos + 8:pos + 12])[0]
        frame = data[pos + 16:pos + 16 + caplen]
        if len(frame) < caplen:
            break
        pos += 16 + caplen
        seg = _tcp_segment(frame[skip:])
        if seg is not None and port in (seg.sport, seg.dport):
            out.append(seg)
    return out


def _tcp_segment(ip):
    if len(ip) < 20:
        return None
    version = ip[0] >> 4
    if version == 4:
        hlen = (ip[0] & 0x0F) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        proto = ip[9]
        body = ip[hlen:total]
    elif version == 6 and len(ip) >= 40:
        proto = ip[6]
        body = ip[40:40 + struct.unpack(">H", ip[4:6])[0]]
    else:
        return None
    if proto != 6 or len(body) < 20:
        return None
    sport, dport = struct.unpack(">HH", body[:4])
    off = (body[12] >> 4) * 4
    return Packet(sport, dport, body[13], body[off:])


def sessions_closed(packets, port, expected):
    """True when the capture holds at least `expected` connections to port
    and each has ended in both directions (FIN or RST from either side):
    every byte of those sessions is then in the file."""
    conns = {}
    for p in packets:
        client = p.sport if p.dport == port else p.dport
        state = conns.setdefault(client, set())
        if p.flags & Packet.SYN and p.dport == port:
            state.add("syn")
        if p.flags & Packet.RST:
            state.update(("fin-c", "fin-s"))
        if p.flags & Packet.FIN:
            state.add("fin-c" if p.dport == port else "fin-s")
    opened = [s for s in conns.values() if "syn" in s]
    return len(opened) >= expected and all({"fin-c", "fin-s"} <= s for s in opened)


def streams(packets, port):
    """The payload bytes sent to port and from it, each concatenated in
    capture order."""
    to = b"".join(p.payload for p in packets if p.dport == port)
    back = b"".join(p.payload for p in packets if p.sport == port)
    return to, back
