#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora into tests/fuzz/corpus/NAME/.

Seeds come from the protocol's test vectors (proto/vectors/*.txt) and from
request sequences written here that touch every global function and every
shared type, including parked calls and connections closing with locks
held. Run from the source tree's root after changing the vectors or the
types; regression inputs (regress-*, named after what they caught) are
kept. A tiny MessagePack encoder is included so nothing needs installing.
"""
import os
import struct
import sys


def pack(v):
    if v is None:
        return b'\xc0'
    if v is True:
        return b'\xc3'
    if v is False:
        return b'\xc2'
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if -32 <= v < 0:
            return struct.pack('b', v)
        if v >= 0:
            return b'\xcf' + struct.pack('>Q', v)
        return b'\xd3' + struct.pack('>q', v)
    if isinstance(v, float):
        return b'\xcb' + struct.pack('>d', v)
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0xa0 | len(b)]) if len(b) < 32 else b'\xd9' + bytes([len(b)])) + b
    if isinstance(v, bytes):
        return b'\xc4' + bytes([len(v)]) + v
    if isinstance(v, Ref):
        return b'\xd7\x01' + struct.pack('>Q', v.id)
    if isinstance(v, list):
        return bytes([0x90 | len(v)]) + b''.join(pack(x) for x in v)
    if isinstance(v, dict):
        return bytes([0x80 | len(v)]) + b''.join(pack(k) + pack(x) for k, x in v.items())
    raise TypeError(v)


class Ref:
    def __init__(self, id):
        self.id = id


def vectors(name):
    out = []
    with open(os.path.join('proto/vectors', name)) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#') and '=' in line:
                k, v = line.split('=', 1)
                out.append((k.strip(), bytes.fromhex(v.strip())))
    return out


def req(conn, method, *params):
    """A request for connection conn (the fuzzer routes by msgid % 3)."""
    req.n += 3
    return pack([0, req.n + conn, method, list(params)])


req.n = 0


def write(name, seed, data):
    d = os.path.join('tests/fuzz/corpus', name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, seed), 'wb') as f:
        f.write(data)


# Request sequences; ids start at 1 in a fresh registry.
SEQS = {
    'globals': [req(0, 'ping'), req(0, 'open', 'dict', 'a', True, []), req(1, 'open', 'list', 'b'),
                req(0, 'objects'), req(0, 'typeof', 1), req(1, 'retain', 1), req(1, 'release', 1),
                req(0, 'delete', 'a'), req(0, 'info'), req(0, 'describe', 2), req(2, 'create', 'set')],
    'dict': [req(0, 'create', 'dict'), req(0, 'dict.set', 1, 'k', 1), req(0, 'dict.incr', 1, 'n', 5),
             req(0, 'dict.update', 1, {'a': [1, 2.5], 'b': b'\x00'}), req(0, 'dict.get', 1, 'k'),
             req(0, 'dict.items', 1), req(0, 'dict.pop', 1, 'a'), req(0, 'dict.popitem', 1),
             req(0, 'dict.setdefault', 1, [1, 2], None), req(0, 'dict.scan', 1, 0, 10),
             req(0, 'dict.copy', 1), req(0, 'dict.clear', 1)],
    'list': [req(0, 'create', 'list', [[3, 1, 2]]), req(0, 'list.append', 1, 'x'),
             req(0, 'list.extend', 1, [1.5, -7, None]), req(0, 'list.insert', 1, -1, True),
             req(0, 'list.sort', 1), req(0, 'list.setslice', 1, 0, None, 2, [9, 9]),
             req(0, 'list.getslice', 1, None, None, -1), req(0, 'list.delslice', 1, 1, 3, None),
             req(0, 'list.index', 1, 9), req(0, 'list.remove', 1, 9), req(0, 'list.pop', 1),
             req(0, 'list.reverse', 1), req(0, 'list.scan', 1, 0, 2), req(0, 'list.count', 1, 1)],
    'refs': [req(0, 'create', 'list'), req(0, 'create', 'dict'), req(0, 'list.append', 1, Ref(2)),
             req(0, 'dict.set', 2, 'l', Ref(1)), req(0, 'release', 1), req(0, 'release', 2),
             req(0, 'create', 'dict'), req(0, 'dict.set', 3, 'r', Ref(3)), req(0, 'dict.clear', 3)],
    'queue': [req(0, 'create', 'queue', [2]), req(0, 'queue.put', 1, 'a'), req(0, 'queue.put_nowait', 1, 'b'),
              req(1, 'queue.put', 1, 'c', True, 0.001), req(0, 'queue.qsize', 1), req(2, 'queue.get', 1),
              req(2, 'queue.get', 1, False), req(2, 'queue.get', 1, True, None), req(0, 'fuzz.close'),
              req(1, 'queue.full', 1), req(1, 'queue.empty', 1)],
    'joinable': [req(0, 'create', 'joinablequeue'), req(0, 'joinablequeue.put', 1, 1),
                 req(1, 'joinablequeue.join', 1, None), req(2, 'joinablequeue.get', 1),
                 req(2, 'joinablequeue.task_done', 1), req(2, 'joinablequeue.task_done', 1)],
    'lock': [req(0, 'create', 'lock'), req(0, 'lock.acquire', 1), req(1, 'lock.acquire', 1, True, None),
             req(2, 'lock.acquire', 1, True, 0.001), req(0, 'lock.locked', 1), req(0, 'fuzz.close'),
             req(1, 'lock.release', 1), req(2, 'lock.release', 1)],
    # Regression: a release handing the lock to a call parked by the same
    # connection wrote the waiter's reply into the middle of the release's
    # own reply (fixed in dispatch.c, dispatch_message).
    'regress-own-waiter': [req(0, 'create', 'lock'), req(0, 'lock.acquire', 1), req(0, 'lock.acquire', 1),
                           req(0, 'lock.release', 1), req(0, 'lock.release', 1)],
    'rlock': [req(0, 'create', 'rlock'), req(0, 'rlock.acquire', 1), req(0, 'rlock.acquire', 1),
              req(1, 'rlock.acquire', 1), req(0, 'rlock.release', 1), req(0, 'rlock.release', 1),
              req(1, 'fuzz.close')],
    'semaphore': [req(0, 'create', 'semaphore', [2]), req(0, 'semaphore.acquire', 1),
                  req(1, 'semaphore.acquire', 1), req(2, 'semaphore.acquire', 1, False),
                  req(0, 'create', 'boundedsemaphore', [1]), req(0, 'boundedsemaphore.release', 2),
                  req(1, 'fuzz.close'), req(2, 'semaphore.acquire', 1)],
    'condition': [req(0, 'create', 'condition'), req(0, 'condition.acquire', 1),
                  req(0, 'condition.wait', 1, None), req(1, 'condition.acquire', 1),
                  req(1, 'condition.notify', 1, 1), req(1, 'condition.release', 1),
                  req(0, 'condition.notify_all', 1)],
    'event': [req(0, 'create', 'event'), req(1, 'event.wait', 1, None), req(2, 'event.wait', 1, 0.001),
              req(0, 'event.set', 1), req(0, 'event.is_set', 1), req(0, 'event.clear', 1)],
    'barrier': [req(0, 'create', 'barrier', [2]), req(0, 'barrier.wait', 1), req(1, 'barrier.parties', 1),
                req(1, 'barrier.wait', 1, None), req(2, 'barrier.wait', 1), req(0, 'fuzz.close'),
                req(2, 'barrier.reset', 1), req(2, 'barrier.abort', 1), req(2, 'barrier.broken', 1)],
    'namespace': [req(0, 'create', 'namespace'), req(0, 'namespace.setattr', 1, 'x', 1),
                  req(0, 'namespace.getattr', 1, 'x'), req(0, 'namespace.dir', 1),
                  req(0, 'namespace.vars', 1), req(0, 'namespace.delattr', 1, 'x'),
                  req(0, 'namespace.has', 1, 'y')],
    'value': [req(0, 'create', 'value', ['i', 5]), req(0, 'value.add', 1, 2), req(0, 'value.cas', 1, 7, 8),
              req(0, 'value.get', 1), req(0, 'value.set', 1, 3), req(0, 'value.typecode', 1)],
    'array': [req(0, 'create', 'array', ['d', [1.0, 2.0, 3.0]]), req(0, 'array.setitem', 1, 0, 4.5),
              req(0, 'array.getslice', 1, 0, 2, None), req(0, 'array.setslice', 1, 0, 2, None, [1.0, 1.0]),
              req(0, 'array.tolist', 1), req(0, 'array.len', 1), req(0, 'array.typecode', 1)],
    'set': [req(0, 'create', 'set'), req(0, 'set.add', 1, 1), req(0, 'set.update', 1, [2, 'a', [1]]),
            req(0, 'create', 'set'), req(0, 'set.add', 4, 2), req(0, 'set.union', 1, Ref(4)),
            req(0, 'set.intersection_update', 1, [1, 2]), req(0, 'set.symmetric_difference', 1, [5]),
            req(0, 'set.issubset', 1, Ref(4)), req(0, 'set.pop', 1), req(0, 'set.discard', 1, 9),
            req(0, 'set.remove', 1, 9), req(0, 'set.copy', 1)],
}


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), '../..'))
    msgs = vectors('messages.txt')
    # decode: each message, all of them as one stream, canonical inputs;
    # the last byte is the harness's split selector.
    for k, v in msgs:
        write('decode', 'vec-' + k, v + b'\x03')
    write('decode', 'vec-all-messages', b''.join(v for _, v in msgs) + b'\x00')
    for k, v in vectors('canonical.txt'):
        if k.endswith('.in'):
            write('decode', 'canon-' + k[:-3], b'\x94\x00\x01' + pack('list.append') +
                  b'\x92\x01' + v + b'\x07')
    for name, seq in SEQS.items():
        write('decode', 'seq-' + name, b''.join(seq) + b'\x01')
        write('dispatch', 'seq-' + name, b''.join(seq))
    for k, v in msgs:
        write('dispatch', 'vec-' + k, v)
    # handshake: flag byte (bit 0: send a correct hello first), then the
    # peer's bytes. A correct hello and requests; vector records as raw
    # client bytes (wrong nonces, so refused); junk.
    hs = dict(vectors('handshake.txt'))
    write('handshake', 'good-requests', b'\x01' + b''.join(SEQS['globals']))
    write('handshake', 'regress-own-waiter', b'\x01' + b''.join(SEQS['regress-own-waiter']))
    write('handshake', 'good-chunked', b'\x03' + b''.join(SEQS['lock']))
    write('handshake', 'good-pipelined-bad', b'\x0f' + b''.join(SEQS['dict']) + b'\xc1')
    write('handshake', 'good-too-deep', b'\x01' + b'\x91' * 40 + b'\x00')
    write('handshake', 'raw-vector-hello', b'\x00' + hs['client_hello'] + msgs[0][1])
    write('handshake', 'raw-short', b'\x02PCLI\x00\x01')
    write('handshake', 'raw-version', b'\x00PCLI\x00\x02' + bytes(66))
    return 0


if __name__ == '__main__':
    sys.exit(main())
