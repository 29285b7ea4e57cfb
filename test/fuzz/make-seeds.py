#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (test/fuzz/corpus/<target>/)
from the documentation's examples and the golden vectors. Run from anywhere;
rewrites the corpus directories. docs/fuzzing.md describes the input layouts
of each target, which the functions below follow."""
import hashlib
import json
import os
import re
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "test", "fuzz", "corpus")
MAX_SEEDS = 48


def doc(name):
    with open(os.path.join(ROOT, "docs", name), encoding="utf-8") as f:
        return f.read()


def json_examples(text):
    """Every JSON text of the ```json blocks: whole blocks, else each line."""
    out = []
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        if "…" in block:
            continue
        try:
            json.loads(block)
            out.append(block.strip())
            continue
        except ValueError:
            pass
        for line in block.splitlines():
            try:
                json.loads(line)
                out.append(line.strip())
            except ValueError:
                pass
    return out


# fuzz_json: the decoder numbers of test/fuzz/fuzz_json.cc's run().
DECODERS = 28


def json_selectors(value):
    if isinstance(value, list):
        return [15, 21]
    if not isinstance(value, dict):
        return [26]
    keys = set(value)
    if "error" in keys:
        return [1]
    if "engine" in keys:
        return [2]
    if "tables" in keys:
        return [9]
    if "columns" in keys:
        return [8, 8 + DECODERS]  # a full definition; a PUT body for "items"
    if "records" in keys:
        return [11]
    if "conflicts" in keys and isinstance(value["conflicts"], list) and value["conflicts"] \
            and isinstance(value["conflicts"][0], dict):
        return [12]
    if "results" in keys:
        if "local_saved" in keys:
            return [21]
        if "last_seq" in keys:
            return [16]
        return [20]
    if "docs" in keys:
        return [22, 27] if "new_edits" in keys else [19]
    if "peers" in keys:
        return [25]
    if "admin" in keys or "read" in keys:
        return [5, 3]
    if "grace_seconds" in keys:
        return [4]
    if "table" in keys and "revision" in keys and "attributes" in keys:
        return [10]
    if "table" in keys and ("revision" in keys or "error" in keys):
        return [14]
    if "attributes" in keys:
        # edit bodies: put on an id, put creating, resolve
        return [13 + DECODERS * 4, 13, 13 + DECODERS * 6]
    first = next(iter(value.values()), None)
    if isinstance(first, dict) and first and all(
            isinstance(v, dict) and len(v) == 1 for v in value.values()):
        return [0]
    if isinstance(first, dict):
        return [17, 18]
    return [26]


def write(target, seeds):
    directory = os.path.join(CORPUS, target)
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    seen = set()
    for data in seeds:
        digest = hashlib.sha1(data).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        if len(seen) > MAX_SEEDS:
            break
        with open(os.path.join(directory, digest[:16]), "wb") as f:
            f.write(data)
    print(f"{target}: {len(os.listdir(directory))} seeds")


def seeds_json():
    seeds = []
    for text in json_examples(doc("http-api.md")) + json_examples(doc("data-model.md")):
        for s in json_selectors(json.loads(text)):
            seeds.append(bytes([s]) + text.encode())
    checkpoint = ('{"last_seq":"3","updated_at":"2026-12-02T05:56:50.941059Z","source":"158c",'
                  '"target":"95fd","tables":["households"],"skipped":{"visits":"2"},'
                  '"history":["2","1"],"scope":"households: district = \'north\'",'
                  '"target_scoped":false,"copied_scope_fingerprint":""}')
    refusals = ('{"refused":[{"table":"households","id":"h-007","revision":'
                '"1-ffd9fefeb88117e7a8d9f362e981a73a","error":"forbidden","message":"outside",'
                '"at":"2026-12-02T05:56:50.941059Z"}]}')
    seeds += [bytes([23]) + checkpoint.encode(), bytes([24]) + refusals.encode(),
              bytes([6]) + b'{"name":"t","admin":true,"read":[],"write":[],'
              b'"created_at":"2026-12-02T05:56:50.941059Z","revoked":false,"secret":"op_x"}',
              bytes([7]) + b'{"tokens":[{"name":"t","admin":false,"read":["households"],'
              b'"write":[],"created_at":"2026-12-02T05:56:50.941059Z","revoked":false}]}']
    # Round-robin over the decoders, shortest first, so that the cap keeps
    # some of each.
    by_decoder = {}
    for seed in sorted(seeds, key=len):
        by_decoder.setdefault(seed[0] % DECODERS, []).append(seed)
    ordered = []
    while any(by_decoder.values()):
        for key in sorted(by_decoder):
            if by_decoder[key]:
                ordered.append(by_decoder[key].pop(0))
    return ordered


def vectors():
    with open(os.path.join(ROOT, "test", "vectors", "revisions.json"), encoding="utf-8") as f:
        return json.load(f)


TYPES = ["string", "int", "float", "bool", "bytes", "timestamp"]


def seeds_values():
    v = vectors()
    seeds = []
    for case in v["values"]:
        if case["type"] in TYPES:  # the vectors also name an unknown type
            seeds.append(bytes([0, TYPES.index(case["type"])]) + case["input"].encode())
    for case in v["revisions"]:
        seeds.append(bytes([1]) + case["revision"].encode())
        attrs = b"".join(
            name.encode() + b"\x1f" + bytes([TYPES.index(t)]) + text.encode() + b"\x1e"
            for name, typed in case["attributes"].items() for t, text in typed.items()
            if t in TYPES)
        flags = (1 if case["deleted"] else 0) | (len(case["attributes"]) << 1)
        seeds.append(bytes([2, flags]) + case["table"].encode() + b"\x1e" + case["id"].encode()
                     + b"\x1e" + case["parent"].encode() + b"\x1e" + attrs)
    # Revision trees: (parent, salt, flags) triples.
    seeds.append(bytes([3, 6, 0, 1, 0, 1, 2, 0, 1, 3, 0, 2, 4, 1, 1, 5, 0, 0, 0, 1, 2, 0, 0]))
    seeds.append(bytes([3, 3, 0, 9, 0, 0, 7, 1, 1, 8, 0, 1, 0, 0, 1, 1]))
    return seeds


def seeds_text():
    v = vectors()
    seeds = []
    for case in v["values"]:
        if case["type"] == "bytes":
            seeds.append(bytes([0]) + case["input"].encode())  # as raw bytes to encode
        if case["type"] == "timestamp":
            seeds.append(bytes([1]) + struct.pack("<q", 1764000000000000) + case["input"].encode())
        if case["type"] == "string":
            seeds.append(bytes([2, 80]) + case["input"].encode())
    seeds += [bytes([0]) + b"AAEC/w==", bytes([0]) + b"\x00\x01\x02\xff",
              bytes([2, 4]) + "Ωmega ☃ 😀".encode(), bytes([2, 3]) + b"\xed\xa0\x80\xc0\xaf",
              bytes([2, 80]) + b'tab\there "quoted" \\ \x7f']
    return seeds


def seeds_urls():
    urls = set(re.findall(r"https?://[A-Za-z0-9\[\]:./_%-]+", doc("cli.md") + doc("http-api.md")
                          + doc("operations.md") + doc("replication.md")))
    seeds = [bytes([0]) + u.rstrip(".:").encode() for u in sorted(urls)][:20]
    seeds += [bytes([0]) + b"http://[::1]:8080/outpost/", bytes([0]) + b"HTTPS://Hub.Example"]
    db = set(re.findall(r"(?:postgres(?:ql)?|sqlite):[^\s`\"')…,]*", doc("cli.md")
                        + doc("operations.md") + doc("replication.md") + doc("embedding.md")))
    seeds += [bytes([2]) + d.encode() for d in sorted(db) if "..." not in d]
    seeds += [bytes([2]) + b"postgres:host=hub dbname=outpost password='se cret'",
              bytes([2]) + b"postgres://user:password@host:5432/dbname?sslmode=require"]
    seeds += [bytes([1]) + b"households: district = 'north'", bytes([1]) + b"a%2Fb+c%zz"]
    return seeds


def scope_texts():
    texts = []
    for name in ("data-model.md", "http-api.md", "cli.md", "operations.md", "replication.md"):
        texts += re.findall(r"((?:[a-z_]+: (?:\*|[a-z_]+ (?:=|IN|IS)[^\"`\n]*)[; ]*)+)", doc(name))
    return sorted(set(t.strip() for t in texts))


def seeds_scope():
    seeds = []
    for t in scope_texts():
        seeds.append(bytes([0]) + t.encode())
    seeds += [bytes([0]) + b"households: district = 'kampala-north' AND status IN ('open', "
              b"'pending');\nvisits: district = 'kampala-north';\nclinics: *",
              bytes([0]) + b"households: lat IN (1.0, 1) AND active = TRUE AND photo = 'AAEC/w==' "
              b"AND visited = '2026-11-22T12:00:00+02:00' AND size IS NULL AND _id IN ('h-1')",
              bytes([0]) + b"households: district = 'O''Brien'",
              bytes([1]) + b"district = 'north' AND size IN (5, 6)",
              bytes([3]) + b"when IS NULL"]
    return seeds


def seeds_router():
    text = doc("http-api.md")
    seeds = []
    requests = [("GET", "/v1/health", ""), ("GET", "/v1", ""), ("GET", "/v1?tables=true", ""),
                ("GET", "/v1/tables", ""), ("GET", "/v1/tables?counts=true", ""),
                ("GET", "/v1/tables/items", ""), ("GET", "/v1/changes?since=0&limit=5", ""),
                ("GET", "/v1/changes?feed=longpoll&timeout_ms=5", ""),
                ("GET", "/v1/tables/items/records?scope=items%3A%20size%20%3D%201", ""),
                ("GET", "/v1/tables/items/records?where=size%20%3D%201", ""),
                ("GET", "/v1/conflicts", ""), ("GET", "/v1/peers", ""), ("GET", "/v1/devices", ""),
                ("GET", "/v1/tokens", ""), ("GET", "/v1/tokens/reader", ""),
                ("DELETE", "/v1/tokens/nobody", ""), ("GET", "/metrics", ""), ("GET", "/ui/", ""),
                ("GET", "/v1/local/cp", ""), ("PUT", "/v1/local/cp", '{"last_seq":"1"}'),
                ("PUT", "/v1/tables/notes", '{"columns":[{"name":"body","type":"string"}]}'),
                ("POST", "/v1/tables/items/records",
                 '{"attributes":{"name":{"string":"a"},"size":{"int":"1"}}}'),
                ("PUT", "/v1/tables/items/records/r1",
                 '{"attributes":{"name":{"string":"b"},"size":{"int":"2"}}}'),
                ("GET", "/v1/tables/items/records/r1?conflicts=true&ancestry=true", ""),
                ("DELETE", "/v1/tables/items/records/r1?revision=1-ffd9fefeb88117e7a8d9f362e981a73a", ""),
                ("PUT", "/v1/tokens/scoped", '{"scope":"items: size = 2","grace_seconds":0}'),
                ("POST", "/v1/tokens", '{"name":"t2","read":["items"],"write":[]}')]
    for m, t, b in requests:
        seeds.append(bytes([1, ["GET", "PUT", "POST", "DELETE"].index(m), 0]) + t.encode()
                     + b"\n" + b.encode())
    # The request bodies of the docs, on their routes.
    for j in json_examples(text):
        v = json.loads(j)
        if isinstance(v, dict) and "docs" in v:
            route = "/v1/bulk_docs" if "new_edits" in v else "/v1/bulk_get"
            for who in (1, 2):
                seeds.append(bytes([who, 2, 0]) + route.encode() + b"\n" + j.encode())
        elif isinstance(v, dict) and "households" in v and isinstance(v["households"], dict):
            first = next(iter(v["households"].values()))
            if isinstance(first, list):
                seeds.append(bytes([1, 2, 0]) + b"/v1/revs_diff\n"
                             + j.replace("households", "items").encode())
    for who in (0, 2, 3, 4, 5):
        seeds.append(bytes([who, 0, 0]) + b"/v1/tables/items/records\n")
    seeds.append(bytes([1, 7, 0]) + b"BREW /v1\n")
    return seeds


def main():
    write("json", seeds_json())
    write("values", seeds_values())
    write("text", seeds_text())
    write("urls", seeds_urls())
    write("scope", seeds_scope())
    write("router", seeds_router())


if __name__ == "__main__":
    main()
