"""Verifies webhook deliveries with PyPI's standardwebhooks, the Standard Webhooks reference library.

Usage: webhook_verify.py FILE  (FILE: JSON {"secret": "whsec_...", "deliveries": [{"headers": {...}, "body": "..."}]})
Prints JSON: {"verified": [the parsed payload of each delivery, in order]}. Exits non-zero at the first delivery
whose signature, id or timestamp does not verify.
"""
import json
import sys

from standardwebhooks.webhooks import Webhook


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        given = json.load(f)
    webhook = Webhook(given["secret"])
    verified = [webhook.verify(d["body"], d["headers"]) for d in given["deliveries"]]
    print(json.dumps({"verified": verified}))


if __name__ == "__main__":
    main()
