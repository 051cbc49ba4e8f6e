#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora into Fuzz/Corpus: well-formed inputs the fuzzer mutates from.

Run with the Python client's environment (scripts/python-env.sh prints its python); `make fuzz` does.
Request seeds use placeholders ($LINK, $SESSION, ...) that the request checks replace with live values.
Findings (finding-*) already in the corpus are left alone.
"""
import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Clients", "python", "src"))
from portal_links.v1 import accounts_pb2, auth_pb2, health_pb2, links_pb2  # noqa: E402

CORPUS = os.path.join(ROOT, "Fuzz", "Corpus")


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as file:
        file.write(data.encode() if isinstance(data, str) else data)


def frame(method, payload, version=0x01, flags=0, call_id=1, deadline=0, length=None):
    size = len(payload) if length is None else length
    return struct.pack(">BBHIII", version, flags, method, call_id, deadline, size) + payload


def golden_tokens():
    with open(os.path.join(ROOT, "Protos", "testdata", "golden_tokens.json")) as file:
        return [vector["token"] for vector in json.load(file)["vectors"]]


def frames():
    tokens = golden_tokens()
    verify = links_pb2.VerifyRequest(token=tokens[0]).SerializeToString()
    hello = auth_pb2.HelloRequest(api_key="pl_" + "a" * 43).SerializeToString()
    health = health_pb2.HealthCheckRequest().SerializeToString()
    # Byte 0 picks the side (bit 7: responses) and the chunk size; the rest is the stream.
    write("frames", "health", b"\x00" + frame(1, health))
    write("frames", "hello-then-verify", b"\x03" + frame(2, hello) + frame(3, verify, call_id=2))
    write("frames", "pipelined-verifies", b"\x10" + b"".join(frame(3, verify, call_id=i) for i in range(8)))
    write("frames", "payload-at-limit", b"\x05" + frame(3, b"\x0a" * 300))
    write("frames", "payload-over-limit", b"\x05" + frame(3, b"", length=301))
    write("frames", "wrong-version", b"\x01" + frame(3, verify, version=0x02))
    write("frames", "flags-set", b"\x02" + frame(3, verify, flags=1))
    write("frames", "half-a-frame", b"\x07" + frame(3, verify)[:30])
    write("frames", "responses", b"\x84" + frame(0, b"\x08\x01", version=0x81) + frame(3, b"\x0a\x03bad", version=0x81, call_id=9))


def tokens():
    for index, token in enumerate(golden_tokens()):
        write("tokens", f"golden-{index:02d}", token)


def csv():
    write("csv", "header-and-rows",
          "client_id,name,expires,sent_to\n"
          "acme,Acme Corp,90d,ops@acme.example\n"
          "3f2504e0-4f89-41d3-9a0c-0305e82c3301,\"Globex, Inc.\",2031-01-01T00:00:00Z,a@globex.example;b@globex.example\n"
          "initech,,7d,\n")
    write("csv", "spreadsheet-export", "\ufeffclient_id,name,expires,sent_to\r\nacme,\"Acme \"\"East\"\"\",24h,\r\numbrella,\"Umbrella\r\nCorp\",1900000000,x@u.example\r\n")
    write("csv", "no-header", "acme\nglobex,Globex\n\n\ninitech,Initech,30d,it@initech.example\n")
    write("csv", "bad-rows", "client_id,name,expires,sent_to\n,missing client\nacme,Acme,tomorrow\nacme,a,b,c,d\n\"unclosed\n")


def requests():
    seeds = {
        "health": (1, health_pb2.HealthCheckRequest(service="portal_links.v1")),
        "hello": (2, auth_pb2.HelloRequest(api_key="$APIKEY")),
        "hello-wrong-key": (2, auth_pb2.HelloRequest(api_key="pl_" + "b" * 43)),
        "verify": (3, links_pb2.VerifyRequest(token="$LINK")),
        "verify-golden": (3, links_pb2.VerifyRequest(token=golden_tokens()[1])),
        "issue": (4, links_pb2.IssueRequest(client_id="acme", display_name="Acme Corp", expires_at=0,
                                            sent_to=["ops@acme.example"], base_url="https://portal.example.com/join",
                                            max_accounts=3)),
        "register": (5, accounts_pb2.RegisterRequest(token="$LINK", email="new@example.com",
                                                     password="a long enough password", display_name="New User")),
        "sign-in": (6, accounts_pb2.SignInRequest(email="$EMAIL", password="$PASSWORD")),
        "sign-in-wrong": (6, accounts_pb2.SignInRequest(email="$EMAIL", password="not the password")),
        "session-verify": (7, accounts_pb2.SessionVerifyRequest(token="$SESSION")),
        "refresh": (8, accounts_pb2.RefreshRequest(token="$SESSION")),
        "sign-out": (9, accounts_pb2.SignOutRequest(token="$SESSION")),
        "request-reset": (10, accounts_pb2.PasswordResetRequest(email="$EMAIL")),
        "reset": (11, accounts_pb2.ResetPasswordRequest(reset_token="$RESET", new_password="another long password")),
    }
    for name, (method, message) in seeds.items():
        write("requests", name, bytes([method]) + message.SerializeToString())
    write("requests", "unknown-method-0", b"\x00")
    write("requests", "unknown-method-12", b"\x0c\x0a\x00")


if __name__ == "__main__":
    frames()
    tokens()
    csv()
    requests()
