"""Turns a conformance server's manifest (JSON) into tab-separated lines the C test reads without a JSON parser."""
import json
import sys

manifest = json.load(open(sys.argv[1]))
out = []
for name, key in manifest["api_keys"].items():
    out.append(["key", name, key])
main = manifest["main"]
out.append(["main", main["port"], main.get("tls_port", 0), main.get("mtls_port", 0)])
if manifest.get("tls"):
    tls = manifest["tls"]
    out.append(["tls", tls["ca"], tls["client_cert"], tls["client_key"]])
out.append(["max_frame", manifest["max_frame_bytes"]])
link = manifest["registration_link"]
out.append(["registration", link["token"], link["client_id"], link["display_name"]])
for case in manifest["cases"]:
    out.append(["case", manifest["ports"][str(case["at"])], case["at"] == main["at"], case["name"], case["token"],
                int(case["valid"]), case.get("reason", ""), case.get("client_id", "-"), case.get("display_name", "-"),
                case.get("key_id", "-"), case.get("link_id", "-"), case.get("issued_at", "-"), case.get("expires_at", "-")])
for row in out:
    print("\t".join(str(int(v)) if isinstance(v, bool) else str(v) for v in row))
