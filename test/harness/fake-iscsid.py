#!/usr/bin/env python3
"""Stand-in for iscsid's management socket, for test/iscsid-client.test.ts.

Listens on the abstract unix socket NAME (bound with its exact length, as
iscsid does; Node's net module cannot: it pads the name to sun_path's full
size) and reads each request the way iscsid's mgmt_ipc_read_data() does:
exactly SIZE bytes, or EOF -> close without an answer. With MODE "answer"
it then writes a 2464-byte iscsiadm_rsp_t echoing the command (CONFIG_INAME
gets a name, anything else the config file path); with "silent" it never
answers. Prints "ready" once listening and "cmd N" per answered request.

usage: fake-iscsid.py NAME SIZE answer|silent
"""
import socket
import struct
import sys
import threading

RSP_SIZE = 2464


def serve(conn, size, answer):
    with conn:
        got = b""
        while len(got) < size:
            chunk = conn.recv(size - len(got))
            if not chunk:
                return  # too short: EOF, no answer
            got += chunk
        if not answer:
            threading.Event().wait()  # wedged: holds the connection until killed
        cmd = struct.unpack_from("<i", got, 0)[0]
        text = b"iqn.2026-11.test:jest-initiator" if cmd == 8 else b"/etc/iscsi/iscsid.conf"
        rsp = struct.pack("<ii", cmd, 0) + text
        conn.sendall(rsp + b"\0" * (RSP_SIZE - len(rsp)))
        print(f"cmd {cmd}", flush=True)


def main():
    name, size, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind("\0" + name)
    srv.listen(8)
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, size, mode == "answer"), daemon=True).start()


main()
