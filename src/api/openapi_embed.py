#!/usr/bin/env python3
"""Build step: docs/openapi.yaml -> a C++ source defining aether::api::openApiJson().

usage: openapi_embed.py IN.yaml OUT.cc
Fails (exit 1) on YAML that is not an OpenAPI 3 object, so a broken contract breaks the build.
"""
import json
import sys

import yaml


def main() -> int:
    src, out = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3."):
        print(f"{src}: not an OpenAPI 3 document", file=sys.stderr)
        return 1
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=True, sort_keys=False)
    data = text.encode("ascii")
    lines = []
    for i in range(0, len(data), 20):
        lines.append(",".join(str(b) for b in data[i:i + 20]) + ",")
    with open(out, "w", encoding="ascii") as f:
        f.write("// Generated from docs/openapi.yaml by src/api/openapi_embed.py; do not edit.\n")
        f.write("#include <string_view>\n#include \"api/api.h\"\n")
        f.write("namespace aether::api {\nnamespace {\nconst char kOpenApi[] = {\n")
        f.write("\n".join(lines))
        f.write("\n0};\n}  // namespace\n")
        f.write(f"std::string_view openApiJson() {{ return {{kOpenApi, {len(data)}}}; }}\n")
        f.write("}  // namespace aether::api\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
