#!/usr/bin/env python3
"""Drive a TAXII 2.1 server with the unmodified OASIS taxii2-client.

Only the client's documented public API is used (taxii2client.v21: Server,
ApiRoot, Collection, Status, as_pages and the Collection methods); nothing
of the client is patched. The server and what it is expected to hold come
from the environment:

    TAXII_URL       the discovery URL (https://host:port/taxii2/)
    TAXII_USER      HTTP Basic user name
    TAXII_PASSWORD  HTTP Basic password
    TAXII_LATIN1_USER, TAXII_LATIN1_PASSWORD
                    optional: a user whose password is outside ASCII
    TAXII_EXPECT    JSON: {"collection": id, "readonly": id,
                    "visible": [ids of the latest versions the reader sees],
                    "types": {type: count}, "versioned": {"id": id,
                    "versions": [oldest .. newest]}, "hidden": [ids],
                    "page_size": n, "foreign_status": id of a status
                    that is not the user's}

The server's CA is given the usual way for requests (REQUESTS_CA_BUNDLE).
A JSON summary goes to stdout; the exit status is 1 when any expectation
failed (each failure is listed with what was expected and what came back),
2 when the environment is incomplete.
"""

import datetime
import json
import math
import os
import sys
import traceback
import uuid

import taxii2client
from taxii2client.exceptions import AccessError
from taxii2client.v21 import ApiRoot, Collection, Server, Status, as_pages

MEDIA_TAXII = "application/taxii+json;version=2.1"
MEDIA_STIX = "application/stix+json;version=2.1"


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = []
        self.seen_ids = set()  # every object id any response carried

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed.append(what + (": " + detail if detail else ""))
        return ok

    def equal(self, got, want, what):
        if isinstance(got, set) and isinstance(want, set):  # say what differs
            return self.check(got == want, what, "missing {}, unexpected {}".format(sorted(want - got), sorted(got - want)))
        return self.check(got == want, what, "got {!r}, want {!r}".format(got, want))

    def http_error(self, fn, status, what):
        """Calls fn and checks that it raised an HTTP error with status."""
        try:
            fn()
        except Exception as e:  # requests.HTTPError, via the client
            got = getattr(getattr(e, "response", None), "status_code", None)
            return self.check(got == status, what, "got {} ({}), want HTTP {}".format(type(e).__name__, got, status))
        return self.check(False, what, "no error, want HTTP {}".format(status))


def norm_ts(ts):
    """A STIX/TAXII timestamp with its fraction padded to microseconds, so
    that 2025-01-01T00:00:00.000Z and ...00.000000Z compare equal."""
    base, _, frac = ts.rstrip("Z").partition(".")
    return base + "." + (frac + "000000")[:6] + "Z"


def header(resp, name):
    """A response header, or None when the client hands back parsed JSON
    only (releases up to 2.3.0 do; later ones return the response)."""
    h = getattr(resp, "headers", None)
    return None if h is None else h.get(name, "")


def parse_ts(ts):
    """A TAXII timestamp as an aware datetime (microseconds)."""
    return datetime.datetime.strptime(norm_ts(ts), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)


def objects_of(envelope, checks):
    objs = envelope.get("objects", [])
    for o in objs:
        checks.seen_ids.add(o.get("id"))
    return objs


def ids_of(envelope, checks):
    return [o["id"] for o in objects_of(envelope, checks)]


def stix_indicator(name):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {"type": "indicator", "spec_version": "2.1", "id": "indicator--" + str(uuid.uuid4()),
            "created": now, "modified": now, "name": name, "pattern_type": "stix",
            "pattern": "[domain-name:value = 'c2.example.net']", "valid_from": now}


def main():
    env = {k: os.environ.get(k) for k in ("TAXII_URL", "TAXII_USER", "TAXII_PASSWORD", "TAXII_EXPECT")}
    missing = [k for k, v in env.items() if not v]
    if missing:
        print("drive.py: missing environment: " + ", ".join(missing), file=sys.stderr)
        return 2
    want = json.loads(env["TAXII_EXPECT"])
    user, password = env["TAXII_USER"], env["TAXII_PASSWORD"]
    c = Checks()
    summary = {"client_version": taxii2client.__version__}

    # Discovery (4.1) and the API root (4.2).
    server = Server(env["TAXII_URL"], user=user, password=password)
    bare = Server(env["TAXII_URL"].rstrip("/"), user=user, password=password)
    c.equal(bare.title, server.title, "discovery at a URL without the trailing slash")
    # requests sends a str password in ISO-8859-1, not UTF-8 (RFC 7617
    # leaves the charset to the server's challenge, which it ignores).
    if os.environ.get("TAXII_LATIN1_USER"):
        try:
            other = Server(env["TAXII_URL"], user=os.environ["TAXII_LATIN1_USER"], password=os.environ["TAXII_LATIN1_PASSWORD"])
            c.equal(other.title, server.title, "HTTP Basic with a password outside ASCII")
        except Exception as e:
            c.check(False, "HTTP Basic with a password outside ASCII", "{}: {}".format(type(e).__name__, e))
    c.check(bool(server.title), "discovery has a title")
    c.equal(len(server.api_roots), 1, "discovery lists one API root")
    root = server.default
    c.check(root is not None, "discovery names a default API root that is in api_roots")
    if root is None:
        root = server.api_roots[0]
    c.check(root.url.endswith("/taxii2/bulwark/"), "API root URL", root.url)
    c.check(MEDIA_TAXII in root.versions, "API root versions include " + MEDIA_TAXII, repr(root.versions))
    c.check(isinstance(root.max_content_length, int) and root.max_content_length > 0, "API root max_content_length",
            repr(root.max_content_length))
    summary["api_root"] = root.url

    # Collections (5.1, 5.2).
    cols = {col.id: col for col in root.collections}
    c.check(want["collection"] in cols, "collection listed", repr(sorted(cols)))
    col = cols.get(want["collection"]) or Collection(root.url + "collections/" + want["collection"] + "/", user=user, password=password)
    c.check(col.can_read and col.can_write, "collection is readable and writable for the reader")
    c.check(MEDIA_STIX in col.media_types, "collection media_types", repr(col.media_types))
    # A collection made by hand, its URL without the trailing slash.
    direct = Collection(root.url + "collections/" + want["collection"], user=user, password=password)
    c.equal(direct.title, col.title, "collection fetched directly (Get a Collection)")
    if want.get("readonly"):
        ro = cols.get(want["readonly"])
        if c.check(ro is not None, "read-only collection listed"):
            c.check(ro.can_read and not ro.can_write, "read-only collection flags")
            try:
                ro.add_objects({"objects": [stix_indicator("refused")]})
                c.check(False, "add_objects to a read-only collection is refused")
            except AccessError:
                c.passed += 1

    visible = set(want["visible"])
    hidden = set(want["hidden"])
    page_size = want["page_size"]

    # Get Objects unpaged (5.3) and its date headers (3.2).
    first = col.get_objects()
    c.equal(set(ids_of(first, c)), visible, "get_objects() returns the latest version of every visible object")
    c.check(not first.get("more", False), "get_objects() unpaged has no more")
    for h in ("X-TAXII-Date-Added-First", "X-TAXII-Date-Added-Last"):
        if header(first, h) is not None:
            c.check(bool(header(first, h)), "get_objects() sends " + h)

    # as_pages over Get Objects: limit and more/next (3.7, 5.3).
    pages = list(as_pages(col.get_objects, per_request=page_size))
    paged = [o["id"] for p in pages for o in objects_of(p, c)]
    c.equal(len(pages), math.ceil(len(visible) / page_size), "as_pages(get_objects, per_request={}) pages".format(page_size))
    c.equal(len(paged), len(set(paged)), "paging returns no object twice")
    c.equal(set(paged), visible, "paging returns every visible object")
    for i, p in enumerate(pages[:-1]):
        c.check(p.get("more") is True and bool(p.get("next")), "page {} has more and next".format(i + 1), repr({k: p.get(k) for k in ("more", "next")}))
        c.equal(len(p.get("objects", [])), page_size, "page {} is full".format(i + 1))
    c.check(not pages[-1].get("more", False), "the last page has no more")
    summary["object_pages"] = [len(p.get("objects", [])) for p in pages]

    # Get Object Manifests (5.6), paged too.
    mpages = list(as_pages(col.get_manifest, per_request=page_size + 1))
    manifest = [r for p in mpages for r in p.get("objects", [])]
    c.seen_ids.update(r["id"] for r in manifest)
    c.equal(set(r["id"] for r in manifest), visible, "as_pages(get_manifest) lists every visible object")
    c.equal(len(manifest), len(visible), "as_pages(get_manifest) lists each once")
    for r in manifest:
        if not c.check(all(k in r for k in ("id", "date_added", "version", "media_type")), "manifest record fields", repr(r)):
            break
        if not c.equal(r["media_type"], MEDIA_STIX, "manifest media_type"):
            break
    vers = want["versioned"]
    mv = [r for r in manifest if r["id"] == vers["id"]]
    if c.equal(len(mv), 1, "manifest has the versioned object once"):
        c.equal(norm_ts(mv[0]["version"]), norm_ts(vers["versions"][-1]), "manifest shows the latest version")
    summary["manifest_pages"] = [len(p.get("objects", [])) for p in mpages]

    # The date headers of a page agree with the manifest's date_added.
    page1 = col.get_objects(limit=page_size)
    mpage1 = col.get_manifest(limit=page_size)
    recs = mpage1.get("objects", [])
    c.equal([o["id"] for o in objects_of(page1, c)], [r["id"] for r in recs], "objects and manifest pages agree")
    if recs and header(page1, "X-TAXII-Date-Added-First") is not None:
        c.equal(norm_ts(header(page1, "X-TAXII-Date-Added-First")), norm_ts(recs[0]["date_added"]), "X-TAXII-Date-Added-First")
        c.equal(norm_ts(header(page1, "X-TAXII-Date-Added-Last")), norm_ts(recs[-1]["date_added"]), "X-TAXII-Date-Added-Last")

    # Filters (3.4): added_after, type, id, version, spec_version.
    by_added = sorted(manifest, key=lambda r: norm_ts(r["date_added"]))
    cut = by_added[len(by_added) // 2]["date_added"]
    after = {r["id"] for r in manifest if norm_ts(r["date_added"]) > norm_ts(cut)}
    c.equal(set(ids_of(col.get_objects(added_after=cut), c)), after, "added_after=" + cut)
    for typ, n in want["types"].items():
        got = objects_of(col.get_objects(type=typ), c)
        c.equal((len(got), {o["type"] for o in got} or {typ}), (n, {typ}), "match[type]=" + typ)
    c.equal(set(ids_of(col.get_objects(type=list(want["types"])), c)), visible, "match[type] with every type")
    got = objects_of(col.get_objects(id=vers["id"]), c)
    c.equal([norm_ts(o["modified"]) for o in got], [norm_ts(vers["versions"][-1])], "match[id] returns the latest version")
    two = sorted(visible)[:2]
    c.equal(sorted(ids_of(col.get_objects(id=two), c)), two, "match[id] with two ids")
    got = objects_of(col.get_objects(id=vers["id"], version="all"), c)
    c.equal(sorted(norm_ts(o["modified"]) for o in got), sorted(norm_ts(v) for v in vers["versions"]), "match[version]=all")
    got = objects_of(col.get_objects(id=vers["id"], version="first"), c)
    c.equal([norm_ts(o["modified"]) for o in got], [norm_ts(vers["versions"][0])], "match[version]=first")
    mid = vers["versions"][len(vers["versions"]) // 2]
    got = objects_of(col.get_objects(id=vers["id"], version=mid), c)
    c.equal([norm_ts(o["modified"]) for o in got], [norm_ts(mid)], "match[version]=" + mid)
    c.equal(set(ids_of(col.get_objects(spec_version="2.1"), c)), visible, "match[spec_version]=2.1")
    c.equal(ids_of(col.get_objects(spec_version="2.0"), c), [], "match[spec_version]=2.0")
    got = objects_of(col.get_objects(id=vers["id"], version=["first", "last"]), c)
    c.equal(sorted(norm_ts(o["modified"]) for o in got), sorted({norm_ts(vers["versions"][0]), norm_ts(vers["versions"][-1])}),
            "match[version]=first,last")
    # The client turns datetime values into STIX timestamps (whole seconds
    # without a fraction, trailing zeros stripped).
    c.equal(set(ids_of(col.get_objects(added_after=parse_ts(cut)), c)), after, "added_after as a datetime")
    got = objects_of(col.get_objects(id=vers["id"], version=parse_ts(vers["versions"][0])), c)
    c.equal([norm_ts(o["modified"]) for o in got], [norm_ts(vers["versions"][0])], "match[version] as a datetime")
    # Filters stay with the cursor from page to page.
    typ = sorted(want["types"])[0]
    fpages = list(as_pages(col.get_objects, per_request=3, type=typ))
    fids = [o["id"] for p in fpages for o in objects_of(p, c)]
    c.equal((len(fids), len(set(fids)), {o["type"] for p in fpages for o in p.get("objects", [])}), (want["types"][typ], want["types"][typ], {typ}),
            "as_pages(get_objects, per_request=3, type={})".format(typ))
    big = list(as_pages(col.get_objects, per_request=100000))
    c.equal((len(big), len(big[0].get("objects", []))), (1, len(visible)), "as_pages with per_request above the server's cap")
    # Paging through one object's versions (get_object, object_versions).
    vpages = list(as_pages(col.get_object, 1, vers["id"], version="all"))
    c.equal(sorted(norm_ts(o["modified"]) for p in vpages for o in objects_of(p, c)), sorted(norm_ts(v) for v in vers["versions"]),
            "as_pages(get_object, 1, id, version=all)")
    c.equal(len(vpages), len(vers["versions"]), "get_object pages")
    opages = list(as_pages(col.object_versions, 1, vers["id"]))
    c.equal([norm_ts(v) for p in opages for v in p.get("versions", [])], [norm_ts(v) for v in vers["versions"]],
            "as_pages(object_versions, 1, id)")
    c.http_error(lambda: col.get_objects(type="Not A Type!"), 400, "a malformed match[type] is 400")
    c.http_error(lambda: col.get_objects(added_after="yesterday"), 400, "a malformed added_after is 400")

    # Get an Object (5.5) and Get Object Versions (5.8).
    got = objects_of(col.get_object(vers["id"]), c)
    c.equal([norm_ts(o["modified"]) for o in got], [norm_ts(vers["versions"][-1])], "get_object returns the latest version")
    got = objects_of(col.get_object(vers["id"], version="all"), c)
    c.equal(len(got), len(vers["versions"]), "get_object(version=all)")
    ov = col.object_versions(vers["id"])
    c.equal([norm_ts(v) for v in ov.get("versions", [])], [norm_ts(v) for v in vers["versions"]], "object_versions")
    if header(ov, "X-TAXII-Date-Added-First") is not None:
        c.check(bool(header(ov, "X-TAXII-Date-Added-First")), "object_versions sends X-TAXII-Date-Added-First")

    # What the reader may not see is not there, whichever way it is asked.
    for h in sorted(hidden):
        c.http_error(lambda: col.get_object(h), 404, "get_object of a hidden object is 404")
        c.http_error(lambda: col.object_versions(h), 404, "object_versions of a hidden object is 404")
        c.equal(ids_of(col.get_objects(id=h), c), [], "match[id] of a hidden object is empty")
        c.equal(col.get_manifest(id=h).get("objects", []), [], "manifest of a hidden object is empty")

    if want.get("foreign_status"):
        c.http_error(lambda: root.get_status(want["foreign_status"]), 404, "another user's status is 404")

    # Add Objects (5.4) with status polling, Get Status (4.3).
    new = [stix_indicator("taxii2-client check {}".format(i)) for i in range(3)]
    bad = {"type": "indicator", "spec_version": "2.1", "id": "indicator--" + str(uuid.uuid4())}  # no created, pattern...
    st = col.add_objects({"objects": new + [bad]}, wait_for_completion=True, poll_interval=1, timeout=30)
    c.equal(st.status, "complete", "add_objects status")
    c.equal((st.total_count, st.success_count, st.failure_count, st.pending_count), (4, 3, 1, 0), "add_objects counts (total, success, failure, pending)")
    c.equal(sorted(s["id"] for s in st.successes), sorted(o["id"] for o in new), "status successes")
    c.equal([f["id"] for f in st.failures], [bad["id"]], "status failures")
    c.check(all(s.get("version") for s in st.successes), "status successes carry a version", repr(st.successes))
    again = root.get_status(st.id)
    c.equal((again.id, again.status, again.total_count, again.success_count, again.failure_count), (st.id, "complete", 4, 3, 1), "ApiRoot.get_status")
    direct_st = Status(root.url + "status/" + st.id, user=user, password=password)
    c.equal(direct_st.success_count, 3, "Status fetched directly (URL without trailing slash)")
    one = stix_indicator("taxii2-client check async")
    st2 = col.add_objects(json.dumps({"objects": [one]}), wait_for_completion=False)
    c.check(st2.status in ("pending", "complete"), "add_objects(wait_for_completion=False)", repr(st2.status))
    st2.wait_until_final(poll_interval=1, timeout=30)
    c.check(bool(st2), "status becomes complete")
    summary["status"] = {"id": st.id, "total": st.total_count, "success": st.success_count, "failure": st.failure_count}

    got = objects_of(col.get_object(new[0]["id"]), c)
    c.equal([o["id"] for o in got], [new[0]["id"]], "an added object can be read back")
    every = [o["id"] for p in as_pages(col.get_objects, per_request=page_size) for o in objects_of(p, c)]
    c.equal(set(every), visible | {o["id"] for o in new} | {one["id"]}, "the collection after adding")

    # Text outside ASCII survives the round trip (the client posts UTF-8).
    uni = stix_indicator("Überwachung – 監視 – \U0001F6A8")
    c.equal(col.add_objects({"objects": [uni]}).success_count, 1, "add an object named outside ASCII")
    got = objects_of(col.get_object(uni["id"]), c)
    c.equal([o.get("name") for o in got], [uni["name"]], "its name reads back unchanged")

    # Posting back what was read: envelopes from as_pages (with more and
    # next) are accepted; an identical version is not a failure and adds
    # no version.
    st = col.add_objects(pages[0])
    c.equal((st.status, st.total_count, st.failure_count), ("complete", len(pages[0]["objects"]), 0), "re-adding a page as it was read")
    c.equal(len(col.object_versions(vers["id"]).get("versions", [])), len(vers["versions"]), "re-adding adds no version")
    # Incremental polling, as a consumer syncs: added_after is the
    # X-TAXII-Date-Added-Last of the previous read (3.2, 3.4).
    mark = header(first, "X-TAXII-Date-Added-Last")
    if mark is not None:
        poll = col.get_objects(added_after=mark)
        c.equal(set(ids_of(poll, c)), {o["id"] for o in new} | {one["id"], uni["id"]},
                "added_after=<X-TAXII-Date-Added-Last of the first read> returns what was added since (and no re-added identical version)")
        mark = header(poll, "X-TAXII-Date-Added-Last")
        newer = dict(new[1], modified=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z", name="newer version")
        c.equal(col.add_objects({"objects": [newer]}).success_count, 1, "add a new version")
        poll = col.get_objects(added_after=mark)
        c.equal([(o["id"], norm_ts(o["modified"])) for o in objects_of(poll, c)], [(newer["id"], norm_ts(newer["modified"]))],
                "the next poll returns the new version alone")
        mark = header(poll, "X-TAXII-Date-Added-Last")
        poll = col.get_objects(added_after=mark)
        c.equal(ids_of(poll, c), [], "a poll with nothing new is empty")
        c.equal((norm_ts(header(poll, "X-TAXII-Date-Added-First")), norm_ts(header(poll, "X-TAXII-Date-Added-Last"))), (norm_ts(mark), norm_ts(mark)),
                "an empty poll keeps the cursor in its date headers")
    if want.get("mirror"):
        mirror = cols.get(want["mirror"])
        if c.check(mirror is not None and mirror.can_write, "mirror collection listed and writable"):
            copied = 0
            for env in as_pages(col.get_objects, per_request=page_size, version="all"):
                st = mirror.add_objects(env)
                c.equal((st.status, st.failure_count), ("complete", 0), "copying a page of every version")
                copied += st.success_count
            mv = mirror.object_versions(vers["id"]).get("versions", [])
            c.equal([norm_ts(v) for v in mv], [norm_ts(v) for v in vers["versions"]], "the copy has every version")
            mids = {o["id"] for p in as_pages(mirror.get_objects, per_request=page_size) for o in objects_of(p, c)}
            every = {o["id"] for p in as_pages(col.get_objects, per_request=page_size) for o in objects_of(p, c)}
            c.equal(mids, every, "the copy holds what the reader could read")
            summary["copied"] = copied

    # Delete an Object (5.7).
    col.delete_object(new[0]["id"])
    c.http_error(lambda: col.get_object(new[0]["id"]), 404, "a deleted object is gone")
    c.http_error(lambda: col.delete_object(new[0]["id"]), 404, "deleting it again is 404")

    leaked = sorted(c.seen_ids & hidden)
    c.equal(leaked, [], "no hidden object appeared in any response")

    summary["checks_passed"] = c.passed
    summary["checks_failed"] = len(c.failed)
    summary["failures"] = c.failed
    summary["objects_seen"] = len(c.seen_ids)
    print(json.dumps(summary, indent=2, sort_keys=True))
    if c.failed:
        for f in c.failed:
            print("FAIL: " + f, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # the client refused a response: say which and where
        traceback.print_exc()
        print("FAIL: the client raised an exception (above)", file=sys.stderr)
        sys.exit(1)
