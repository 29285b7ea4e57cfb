#!/usr/bin/env python3
"""Write benchmark of the Python binding.

Writes N records (the records of `outpost bench put`: table "items", six
columns) in batches through Database.bulk into a fresh SQLite file in a
temporary directory, and prints the rate:

    python: 100000 records in 3.21 s, 31,152 records/s

With --json, one JSON object instead: {"records", "seconds", "rate", ...}.
The time covers building each batch's documents in Python, encoding them,
the library call and reading its answer; not the table's creation.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import outpost  # noqa: E402

CITIES = ["Oslo", "Lagos", "Lima", "Hanoi", "Quito", "Perth", "Porto", "Dhaka"]
COLUMNS = ["name:string!", "city:string", "qty:int", "seq:int", "price:float", "active:bool"]


def base36(v: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        out = digits[v % 36] + out
        v //= 36
        if v == 0:
            return out


def record(i: int) -> dict:
    """Record i as bench/bench_put.cpp's bench_row(i) makes it."""
    return {
        "id": f"rec{i:08d}",
        "values": {
            "name": "item-" + base36(i),
            "city": CITIES[i % 8],
            "qty": (i * 7919) % 1000,
            "seq": i,
            "price": ((((i * 31) % 10000) * 137 + 50) // 100) / 100.0,
            "active": i % 3 != 0,
        },
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Python write benchmark over liboutpost (Database.bulk)")
    p.add_argument("--records", type=int, default=100000, help="records to write (default 100000)")
    p.add_argument("--batch", type=int, default=1000, help="records per bulk call and transaction (default 1000)")
    p.add_argument("--durability", choices=["full", "normal"], default="full")
    p.add_argument("--dir", help="where the temporary database goes (default $TMPDIR or /tmp)")
    p.add_argument("--json", action="store_true", help='print {"records", "seconds", "rate"}')
    args = p.parse_args(argv)
    if args.records <= 0 or args.batch <= 0:
        p.error("--records and --batch must be > 0")

    scratch = tempfile.mkdtemp(prefix="outpost-pybench-", dir=args.dir)
    try:
        path = os.path.join(scratch, "python.db")
        with outpost.open(f"sqlite:{path}", durability=args.durability) as db:
            db.create_table("items", COLUMNS)
            start = time.perf_counter()
            for first in range(0, args.records, args.batch):
                docs = [record(i) for i in range(first, min(first + args.batch, args.records))]
                results = db.bulk(docs, table="items")
                for r in results:
                    if not r.ok:
                        raise r.exception()
            seconds = time.perf_counter() - start
            last = db.get("items", f"rec{args.records - 1:08d}")
            assert last["seq"] == args.records - 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    rate = args.records / seconds if seconds > 0 else float("inf")
    if args.json:
        print(json.dumps({"records": args.records, "seconds": seconds, "rate": rate,
                          "batch": args.batch, "durability": args.durability,
                          "last_revision": last.revision}))
    else:
        print(f"python: {args.records} records in {seconds:.2f} s, {rate:,.0f} records/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
