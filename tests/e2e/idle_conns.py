#!/usr/bin/env python3
"""Open idle connections to a running engine and keep them open until stdin closes:
an HTTP/1.1 keep-alive connection after one request, and an HTTP/2 (TLS, ALPN h2)
connection after its preface. Prints 'ready' once both are established."""
import socket, ssl, sys

http_port, tls_port = int(sys.argv[1]), int(sys.argv[2])
h1 = socket.create_connection(("127.0.0.1", http_port))
h1.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
assert h1.recv(4096).startswith(b"HTTP/1.1 200")
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["h2"])
h2 = ctx.wrap_socket(socket.create_connection(("127.0.0.1", tls_port)), server_hostname="localhost")
assert h2.selected_alpn_protocol() == "h2", h2.selected_alpn_protocol()
# connection preface and an empty SETTINGS frame
h2.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
h2.recv(4096)
print("ready", flush=True)
sys.stdin.read()
