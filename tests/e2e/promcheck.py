#!/usr/bin/env python3
"""promcheck.py: read a Prometheus text exposition (0.0.4) the way a scraper does and check
what promtool does not: no duplicate series, every sample under a declared family, histograms
with cumulative buckets, a +Inf bucket, and _count equal to it.

  promcheck.py check FILE                  exit 0 when sound, else print the problems
  promcheck.py get FILE NAME [k=v ...]     print the value of the one series matching
  promcheck.py monotonic URL N             scrape N times: counters and histograms never step back
"""
import math
import re
import sys

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


def parse_labels(text):
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m:
            raise ValueError("bad labels: " + text)
        if m.group(1) in labels:
            raise ValueError("label given twice: " + text)
        labels[m.group(1)] = m.group(2).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        pos = m.end()
    return labels


def parse_value(v):
    if v in ("+Inf", "-Inf", "NaN"):
        return float(v.replace("Inf", "inf").replace("NaN", "nan"))
    return float(v)


def parse(text):
    """families: name -> {type, help}; samples: list of (name, labels, value)"""
    families, samples, problems = {}, [], []
    for n, line in enumerate(text.split("\n"), 1):
        if line == "":
            continue
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4:
                problems.append("line %d: short %s" % (n, parts[1]))
                continue
            fam = families.setdefault(parts[2], {})
            key = parts[1].lower()
            if key in fam:
                problems.append("line %d: second %s for %s" % (n, parts[1], parts[2]))
            fam[key] = parts[3]
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            problems.append("line %d: not a sample: %r" % (n, line))
            continue
        try:
            samples.append((m.group(1), parse_labels(m.group(3) or ""), parse_value(m.group(4))))
        except ValueError as e:
            problems.append("line %d: %s" % (n, e))
    return families, samples, problems


def family_of(name, families):
    if name in families:
        return name
    for suffix in ("_bucket", "_count", "_sum"):
        if name.endswith(suffix) and families.get(name[: -len(suffix)], {}).get("type") == "histogram":
            return name[: -len(suffix)]
    return None


def check(text):
    families, samples, problems = parse(text)
    seen = set()
    hist = {}
    for name, labels, value in samples:
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            problems.append("duplicate series %s%s" % (name, labels))
        seen.add(key)
        fam = family_of(name, families)
        if fam is None:
            problems.append("sample %s has no # TYPE" % name)
            continue
        if "help" not in families[fam]:
            problems.append("family %s has no # HELP" % fam)
        if families[fam].get("type") == "histogram":
            base = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            h = hist.setdefault((fam, base), {"buckets": [], "count": None, "sum": None})
            if name.endswith("_bucket"):
                h["buckets"].append((parse_value(labels["le"]), value))
            elif name.endswith("_count"):
                h["count"] = value
            elif name.endswith("_sum"):
                h["sum"] = value
    for (fam, base), h in hist.items():
        where = "%s%s" % (fam, dict(base))
        les = [le for le, _ in h["buckets"]]
        if not les or les[-1] != math.inf:
            problems.append("%s: no +Inf bucket (last)" % where)
        if les != sorted(les):
            problems.append("%s: buckets not in order" % where)
        counts = [c for _, c in h["buckets"]]
        if any(b < a for a, b in zip(counts, counts[1:])):
            problems.append("%s: buckets not cumulative" % where)
        if h["count"] is None or h["sum"] is None:
            problems.append("%s: no _count or _sum" % where)
        elif counts and h["count"] != counts[-1]:
            problems.append("%s: _count %s != +Inf bucket %s" % (where, h["count"], counts[-1]))
    return problems


def get(text, name, want):
    _, samples, _ = parse(text)
    found = [v for n, labels, v in samples if n == name and all(labels.get(k) == v for k, v in want.items())]
    if len(found) != 1:
        raise SystemExit("%d series match %s %s" % (len(found), name, want))
    return found[0]


def monotonic(url, n):
    """Scrape url n times; the counters (and histogram parts) that ever step back."""
    import time
    import urllib.request
    last, bad = {}, []
    for _ in range(n):
        families, samples, _ = parse(urllib.request.urlopen(url, timeout=5).read().decode())
        for name, labels, value in samples:
            fam = family_of(name, families)
            if fam is None:
                continue
            if families[fam].get("type") == "counter" or families[fam].get("type") == "histogram":
                key = (name, tuple(sorted(labels.items())))
                if key in last and value < last[key] and len(bad) < 5:
                    bad.append("%s%s: %r then %r" % (name, labels, last[key], value))
                last[key] = value
        time.sleep(0.003)
    return bad


def main(argv):
    if argv[1] == "monotonic":
        bad = monotonic(argv[2], int(argv[3]))
        for p in bad:
            print(p)
        return 1 if bad else 0
    text = open(argv[2], encoding="utf-8").read()
    if argv[1] == "check":
        problems = check(text)
        for p in problems:
            print(p)
        return 1 if problems else 0
    if argv[1] == "get":
        want = dict(a.split("=", 1) for a in argv[4:])
        v = get(text, argv[3], want)
        print(int(v) if math.isfinite(v) and v == int(v) and abs(v) < 1e15 else repr(v))
        return 0
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
