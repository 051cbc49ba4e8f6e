#!/usr/bin/env python3
"""The last step of make test: no secret made during the run reached a log, an error, metrics or the audit log.

While make test runs, PORTAL_LINKS_CAPTURE names a folder where the test harnesses leave
  secrets/*   every secret they made or were given, one per line: API keys, tokens and links printed for staff,
              passwords typed in, master keys of the homes they used;
  output/*    everything that must hold none: the servers' logs (at debug level), the CLI's standard error,
              the output of audit, links, keys, accounts and callers list commands, metrics.
This scan looks for every secret in every output file, and for anything shaped like an API key or a token
whatever made it. It prints where, never the secret itself, and exits 1 on any finding.
"""
import os
import re
import sys

# An API key, and a token: a long run of base64url characters with both cases (hashes and IDs are hex).
API_KEY = re.compile(r"plk_[A-Za-z0-9_-]{20,}")
TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43,}(?![A-Za-z0-9_-])")
HEX = re.compile(r"[0-9a-fA-F]+")
UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")  # temporary paths


def token_shaped(text):
    for match in TOKEN.finditer(text):
        run = match.group(0)
        if HEX.fullmatch(run) or UUID.search(run) or not (re.search("[a-z]", run) and re.search("[A-Z]", run)):
            continue
        yield match.start()


def main(folder):
    secrets = set()
    for name in sorted(os.listdir(os.path.join(folder, "secrets"))) if os.path.isdir(os.path.join(folder, "secrets")) else []:
        with open(os.path.join(folder, "secrets", name), errors="replace") as file:
            secrets.update(line.strip() for line in file if len(line.strip()) >= 8)
    outputs = []
    for root, _, names in os.walk(os.path.join(folder, "output")):
        outputs += [os.path.join(root, name) for name in names]
    findings = []
    scanned = 0
    for path in sorted(outputs):
        with open(path, errors="replace") as file:
            text = file.read()
        scanned += len(text)
        where = os.path.relpath(path, folder)
        for secret in secrets:
            position = text.find(secret)
            if position >= 0:
                findings.append(f"{where}: a secret made in the run ({len(secret)} characters) at offset {position}")
        for match in API_KEY.finditer(text):
            findings.append(f"{where}: something shaped like an API key at offset {match.start()}")
        for position in token_shaped(text):
            findings.append(f"{where}: something shaped like a token at offset {position}")
    print(f"scan-secrets: {len(secrets):,} secrets made during the run, looked for in {len(outputs):,} outputs "
          f"({scanned / 2**20:.1f} MiB of logs, errors, metrics and audit output)")
    for finding in findings[:50]:
        print(f"scan-secrets: {finding}", file=sys.stderr)
    if len(secrets) < 10 or not outputs:
        print("scan-secrets: too little was captured to be a scan; is PORTAL_LINKS_CAPTURE passed on?", file=sys.stderr)
        return 1
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
