#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_engine.c (corpus/fuzz_engine/).

Each seed is the two configuration bytes and a few records in the input
format described at the top of fuzz_engine.c; they start the fuzzer at the
scenarios that matter: a correct 64 KiB read, a hole, an overlap, short
data with GOOD, data past the expected length, writes with R2Ts in and out
of sequence, each Async Message, digests with direct placement, an abort.
"""
import os
import struct

READ, WRITE, DATA_IN, DATA_IN_ALL, SCSI_RSP, R2T, NOP_IN, ASYNC = range(8)
REJECT, LOGOUT_RSP, TMF_RSP, RAW, TIME, ABORT, SERVICE = range(8, 15)

RECONNECT = 0x10   # byte 0: max_reconnects 1
R2T_ONLY = 0x08    # byte 0: InitialR2T=Yes, ImmediateData=No
DIGESTS = 0x03     # byte 0: header and data CRC32C
BIG = 0x3f         # byte 1: MaxXmit 256K, FirstBurst 64K, MaxBurst 256K
BURST16K = 0x1f    # byte 1: MaxBurst 16K (FirstBurst clamped to it)

F, S, U = 0x10, 0x20, 0x40   # Data-In record flag bits
NEXT16K = 0x04               # offset: where the data ended; length: <= 16K
AT = 0x03                    # offset: 4 * v


def data_in(a, b=0, v=0, k=0):
    return bytes([DATA_IN, k, a, b]) + struct.pack(">H", v)


def read64k():
    return bytes([READ, 5])


def seeds():
    four = [data_in(NEXT16K)] * 3 + [data_in(NEXT16K | F | S)]
    yield "read64k_4pdus", [0, BIG], read64k() + b"".join(four)
    yield "read64k_hole", [0, BIG], read64k() + data_in(NEXT16K) + \
        data_in(AT | NEXT16K, v=8192) + data_in(AT | NEXT16K | F | S, v=12288)
    yield "read64k_overlap", [0, BIG], read64k() + data_in(NEXT16K) + \
        data_in(AT | NEXT16K, v=0) + data_in(AT | NEXT16K, v=8192) + \
        data_in(AT | NEXT16K | F | S, v=12288)
    three = b"".join([data_in(NEXT16K)] * 2 + [data_in(NEXT16K | F)])
    yield "read_short_good", [0, BIG], read64k() + three + bytes([SCSI_RSP, 0, 0, 1, 0, 0])
    yield "read_short_underflow", [0, BIG], read64k() + three + bytes([SCSI_RSP, 0, 1, 0, 0, 0])
    yield "read_extra_pdu", [0, BIG], read64k() + b"".join([data_in(NEXT16K)] * 4) + \
        data_in(AT | NEXT16K | F | S, v=16384)
    yield "read_direct_digests", [DIGESTS | RECONNECT, BIG], read64k() + \
        bytes([DATA_IN_ALL, 0, 0x08])
    r2t_in_order = bytes([R2T, 0, 0x10, 0, 0]) * 4
    yield "write_r2t", [R2T_ONLY, BURST16K], bytes([WRITE, 4]) + r2t_in_order + \
        bytes([SCSI_RSP, 0, 0, 1, 0, 0])
    yield "write_r2t_bad_offset", [R2T_ONLY, BURST16K], bytes([WRITE, 4]) + \
        bytes([R2T, 0, 0x18, 0, 0])
    yield "write_immediate", [0x04, 0x3b], bytes([WRITE, 4, R2T, 0, 0, 0, 0]) + \
        bytes([SCSI_RSP, 0, 0, 1, 0, 0])
    relogin = bytes([TIME, 0x0b, 0])
    for i, event in enumerate([0, 1, 2, 3, 4, 255]):
        msg = bytes([READ, 2, ASYNC, i | (1 << 3), 1])
        if event in (1, 4):
            msg += bytes([DATA_IN_ALL, 0, 0, LOGOUT_RSP, 0]) + relogin + bytes([READ, 2, DATA_IN_ALL, 1, 0])
        elif event in (2, 3):
            msg += relogin + bytes([DATA_IN_ALL, 0, 0])
        yield "async_event_%d" % event, [RECONNECT, BIG], msg
    yield "abort_tmf", [0, BIG], bytes([READ, 2, ABORT, 0, 0, TMF_RSP, 0, 0])


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_engine")
    os.makedirs(out, exist_ok=True)
    for name, config, records in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes(config) + records)


if __name__ == "__main__":
    main()
