"""Finds the first message in a maildir sent to ADDRESS that carries a one-click unsubscribe link, writes its HTML
body to OUT/message.html and prints, as JSON, its subject, the List-Unsubscribe URL and its plain-text body.
Waits up to 60 s for it (the server's dispatcher sends within seconds of start). Used by .ci/browser.

Usage: python3 mail_parts.py MAILDIR ADDRESS OUT
"""
import email
import email.policy
import json
import os
import sys
import time

maildir, address, out = sys.argv[1:4]
deadline = time.time() + 60
while True:
    found = None
    folder = os.path.join(maildir, "new")
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        with open(os.path.join(folder, name), "rb") as f:
            message = email.message_from_binary_file(f, policy=email.policy.default)
        if address in str(message["To"]) and message["List-Unsubscribe"]:
            found = message
            break
    if found is not None or time.time() > deadline:
        break
    time.sleep(0.5)
if found is None:
    sys.exit(f"no message to {address} with List-Unsubscribe arrived in {maildir}")
html = found.get_body(preferencelist=("html",)).get_content()
text = found.get_body(preferencelist=("plain",)).get_content()
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "message.html"), "w", encoding="utf-8") as f:
    f.write(html)
print(json.dumps({
    "subject": str(found["Subject"]),
    "unsubscribe": str(found["List-Unsubscribe"]).strip().strip("<>"),
    "unsubscribePost": str(found["List-Unsubscribe-Post"] or ""),
    "text": text,
}))
