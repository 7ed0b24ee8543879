"""Extracts a page's structured data with PyPI's extruct, as search engines and link previews read it.

Usage: structured_data.py FILE BASE_URL
Prints JSON: {"json-ld": [...], "opengraph": [...]} as extruct gives them (JSON-LD parsed from every
<script type="application/ld+json"> block; Open Graph from the meta tags).
"""
import json
import sys

import extruct


def main():
    path, base_url = sys.argv[1:3]
    with open(path, encoding="utf-8") as f:
        html = f.read()
    data = extruct.extract(html, base_url=base_url, syntaxes=["json-ld", "opengraph"], uniform=True)
    print(json.dumps({"json-ld": data.get("json-ld", []), "opengraph": data.get("opengraph", [])}))


if __name__ == "__main__":
    main()
