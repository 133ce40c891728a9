#!/usr/bin/env python3
"""An example client of the sipas API for a province's one-stop information system
(standard library only): ask for invitation links for returned dossiers, send dossier events,
and read Decision 766 group 5.

    SIPAS_URL=https://sipas.example.gov.vn SIPAS_TOKEN=sipas_… \\
        python3 docs/examples/onestop_client.py invite --desk DH01 --dossier H40-260504-0001
    python3 docs/examples/onestop_client.py events events.json
    python3 docs/examples/onestop_client.py group5 --unit QN-DH --period 2026-05

The token is issued by an administrator (Officer workspace → API keys) with the write scopes
"invitations:write" and/or "dossiers:write". Every write is idempotent, so on a timeout or a
5xx the client simply sends the same request again with the same Idempotency-Key.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

#: Events per request: the server takes up to 100,000; smaller batches retry cheaper.
BATCH = 10_000


def call(method: str, path: str, body: Any = None, key: str | None = None) -> Any:
    """One request, retried with backoff on a network error or a 5xx (same key: safe)."""
    base = os.environ.get("SIPAS_URL", "http://127.0.0.1:5000").rstrip("/")
    headers = {
        "Authorization": f"Bearer {os.environ['SIPAS_TOKEN']}",
        "Content-Type": "application/json",
    }
    if key:
        headers["Idempotency-Key"] = key
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    for attempt in range(5):
        request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            problem = json.loads(error.read() or b"{}")
            if error.code < 500:
                # 4xx: will never succeed as sent. The one JSON error shape, and for a refused
                # bulk request every problem with its index, key, record and rule.
                print(f"refused ({error.code} {problem.get('error')}): {problem.get('message')}")
                for item in problem.get("problems", []):
                    print("  -", item["message"])
                sys.exit(1)
        except (urllib.error.URLError, TimeoutError):
            pass
        time.sleep(min(2**attempt, 30))
    sys.exit("the server did not answer; try again later with the same command")


def invite(args: argparse.Namespace) -> None:
    item: dict[str, Any] = {
        "dossier": args.dossier,
        "desk": args.desk,
        "returned_at": args.returned_at or datetime.now(UTC).isoformat(),
    }
    if args.procedure:
        item["procedure"] = args.procedure
    if args.sms:
        # Only with the citizen's explicit consent (Law 91/2025): ask at the counter.
        item["send"] = {"channel": "sms", "phone": args.sms, "consent": True}
    answer = call("POST", "/api/v1/invitations?qr=svg", {"dossiers": [item]}, key=str(uuid.uuid4()))
    invitation = answer["invitations"][0]
    print(invitation["link"])
    if args.qr:
        with open(args.qr, "w", encoding="utf-8") as out:
            out.write(invitation["qr"])
        print("QR written to", args.qr)


def events(args: argparse.Namespace) -> None:
    with open(args.file, encoding="utf-8") as source:
        all_events = json.load(source)
    for start in range(0, len(all_events), BATCH):
        batch = all_events[start : start + BATCH]
        # The batch's key is its content's digest: a rerun of the same file resends the same
        # keys (and gets the first answers back), a changed file gets new ones.
        body = {"events": batch}
        key = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        answer = call("POST", "/api/v1/dossiers", body, key=key)
        print(f"events {start}–{start + len(batch) - 1}: stored {answer['stored']}, "
              f"already stored {answer['already_stored']}")  # fmt: skip


def group5(args: argparse.Namespace) -> None:
    answer = call("GET", f"/api/v1/decision766?unit={args.unit}&period={args.period}")
    print(answer["label"])
    for row in answer["rows"]:
        rank = row["rank"] if row["rank"] is not None else "-"
        print(f"{rank:>3} {row['unit_name']:<30} {row['points']:6.2f} / 18")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(required=True)
    one = commands.add_parser("invite", help="an invitation link (and QR) for a dossier")
    one.add_argument("--desk", required=True)
    one.add_argument("--dossier", required=True)
    one.add_argument("--procedure")
    one.add_argument("--returned-at", help="ISO 8601 with offset (default: now)")
    one.add_argument("--qr", help="write the QR code to this .svg file")
    one.add_argument("--sms", help="send the link by SMS to this phone (citizen consented)")
    one.set_defaults(run=invite)
    many = commands.add_parser("events", help="send a JSON file of dossier events")
    many.add_argument("file")
    many.set_defaults(run=events)
    board = commands.add_parser("group5", help="Decision 766 group 5 of a unit and its communes")
    board.add_argument("--unit", required=True)
    board.add_argument("--period", required=True, help="a month such as 2026-05")
    board.set_defaults(run=group5)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
