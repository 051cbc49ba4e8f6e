#!/usr/bin/env python3
"""Checks that Package.swift says what the code does (run by `make test`):

- every module a target imports is declared among its dependencies (a target or a product), not reached
  through another target's;
- the Swift client's dependency closure reaches neither CPortalLinks (libcrypto) nor CArgon2 (libargon2), so a
  front-end server that adds PortalLinksClient installs neither library.

Reads `swift package describe --type json`; prints one line per problem and exits 1 when there is any.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Modules of the toolchain and the system, which no Package.swift declares.
SYSTEM = {"Foundation", "FoundationEssentials", "Glibc", "Musl", "Darwin", "Dispatch", "Synchronization",
          "FoundationNetworking", "Testing", "XCTest", "_Concurrency", "os", "CoreFoundation", "Observation",
          "RegexBuilder"}
CLIENT = "PortalLinksClient"
NOT_FOR_THE_CLIENT = {"CPortalLinks": "libcrypto", "CArgon2": "libargon2"}
IMPORT = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*import\s+(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?(\w+)", re.M)


def main() -> int:
    describe = subprocess.run(["swift", "package", "describe", "--type", "json"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout
    targets = {t["name"]: t for t in json.loads(describe)["targets"]}
    problems = []
    for name, target in sorted(targets.items()):
        declared = set(target.get("target_dependencies") or []) | set(target.get("product_dependencies") or []) | {name}
        imported = {}
        for source in sorted((ROOT / target["path"]).rglob("*.swift")):
            for module in IMPORT.findall(source.read_text(errors="replace")):
                # Swift modules are capitalised; a lower-case "import" is another language's, in a string.
                if module[0].isupper() or module[0] == "_":
                    imported.setdefault(module, source.relative_to(ROOT))
        for module, source in sorted(imported.items()):
            if module not in declared and module not in SYSTEM:
                problems.append(f"{name} imports {module} ({source}) without declaring it in Package.swift")

    reached, pending = set(), [CLIENT]
    while pending:
        current = pending.pop()
        for dependency in targets[current].get("target_dependencies") or []:
            if dependency not in reached:
                reached.add(dependency)
                pending.append(dependency)
    for module, library in NOT_FOR_THE_CLIENT.items():
        if module in reached:
            problems.append(f"{CLIENT} depends on {module} ({library}) through {sorted(reached)}")

    for problem in problems:
        print(f"check-dependencies: {problem}", file=sys.stderr)
    if not problems:
        print(f"check-dependencies: every import declared in {len(targets)} targets; {CLIENT} reaches "
              f"{', '.join(sorted(reached)) or 'no other target'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
