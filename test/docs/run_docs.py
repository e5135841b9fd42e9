#!/usr/bin/env python3
"""Docs that run: every ```sql example of README.md and docs/*.md, run in order against a fresh
database per page, through psql; a block fails on any error it does not show, and on output that
differs from what it shows. Prints TAP, one test per block. Standard library only.

How a page shows output and prepares its examples (docs/testing.md, "The docs test"):

    SELECT privacy.redact('Mail ana@example.com');
    -- => Mail [EMAIL_REDACTED]          the statement's output, exactly (psql -At, fields ' | ')
    -- ~> [0-9a-f]{64}                   one line matching the regular expression
    -- => ...                            any number of lines
    -- => ERROR:  PV704: key destroyed   an error the statement raises (SQLSTATE: message)
    -- => HINT:  ...                     a HINT, DETAIL, NOTICE or WARNING line it reports
                                         (with ~> a regular expression for such a line too)

    <!-- docs-test
    CREATE TABLE messages (...);         hidden SQL, run here (a page's setup)
    -->
    <!-- docs-test: database postgres -->       the next block (or hidden SQL) runs in that database
    <!-- docs-test: replace 'a' => :'b' -->     the next block runs with a replaced by b
    <!-- docs-test: skip the reason -->         the next block is not run (reported as skipped)

Each page gets a database of its own, with CREATE EXTENSION pg_privacy unless one of its blocks
creates it; roles a page creates are dropped after it. psql variables: fixture_url (the provider
fixture), docs_tmp (a directory the server can write), docs_root (the repository), docs_db (the
page's database).

Usage: run_docs.py [PAGE.md ...]   (PGHOST, PGPORT, PGUSER as for psql; PGBIN names psql's dir)
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PSQL = os.path.join(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"), "psql")
STDERR_TAGS = ("ERROR:", "WARNING:", "NOTICE:", "DETAIL:", "HINT:")


class Block:
    def __init__(self, page, line, text, hidden=False):
        self.page, self.line, self.text, self.hidden = page, line, text, hidden
        self.database = None
        self.skip = None
        self.replace = []


def parse_page(path):
    """The page's blocks in order: ```sql fences and hidden <!-- docs-test --> comments."""
    rel = os.path.relpath(path, ROOT)
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, pending, i = [], {"replace": []}, 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^\s*<!--\s*docs-test:\s*(\w+)\s*(.*?)\s*-->\s*$", line)
        if m:
            kind, arg = m.group(1), m.group(2)
            if kind == "skip":
                if not arg:
                    raise SystemExit(f"{rel}:{i + 1}: docs-test skip needs a reason")
                pending["skip"] = arg
            elif kind == "database":
                pending["database"] = arg
            elif kind == "replace":
                r = re.match(r"^(.*?)\s+=>\s+(.*)$", arg)
                if not r:
                    raise SystemExit(f"{rel}:{i + 1}: docs-test replace A => B")
                pending["replace"].append((r.group(1), r.group(2)))
            else:
                raise SystemExit(f"{rel}:{i + 1}: unknown docs-test directive {kind}")
            i += 1
            continue
        if re.match(r"^\s*<!--\s*docs-test\s*$", line):
            start, body = i + 1, []
            i += 1
            while i < len(lines) and not re.match(r"^\s*-->\s*$", lines[i]):
                body.append(lines[i])
                i += 1
            b = Block(rel, start + 1, "\n".join(body), hidden=True)
            b.database = pending.get("database")
            blocks.append(b)
            pending = {"replace": []}
            i += 1
            continue
        m = re.match(r"^(\s*)```(\w*)\s*$", line)
        if m:
            lang, start, body = m.group(2), i + 1, []
            i += 1
            while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
                body.append(lines[i])
                i += 1
            if lang == "sql":
                b = Block(rel, start + 1, "\n".join(body))
                b.database, b.skip, b.replace = pending.get("database"), pending.get("skip"), pending["replace"]
                blocks.append(b)
                pending = {"replace": []}
            i += 1
            continue
        i += 1
    return blocks


class Statement:
    def __init__(self, line, text):
        self.line, self.text, self.expect = line, text, []


EXPECT = re.compile(r"^\s*--\s(=>|~>)\s?(.*)$")


def split_statements(text, first_line):
    """Statements (SQL ended by ';' or a \\g command, or a psql meta-command line) with the
    '-- =>' / '-- ~>' lines that follow each. Quotes, dollar quotes and comments are respected."""
    stmts, cur, cur_line, i, n, line = [], [], None, 0, len(text), first_line
    last = None

    def flush(s):
        nonlocal cur, cur_line, last
        body = "".join(cur).strip()
        if body:
            st = Statement(cur_line, body)
            stmts.append(st)
            last = st
        cur, cur_line = [], None

    while i < n:
        c = text[i]
        at_start = "".join(cur).strip() == ""
        if at_start and c in " \t":
            i += 1
            continue
        if at_start and c == "\n":
            line += 1
            i += 1
            continue
        if text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            m = EXPECT.match(text[i:end])
            if m and at_start and last is not None:
                last.expect.append((m.group(1), m.group(2)))
            elif not at_start:
                cur.append(text[i:end])
            i = end
            continue
        if cur_line is None:
            cur_line = line
        if c == "\\":
            end = text.find("\n", i)
            end = n if end < 0 else end
            cur.append(text[i:end])
            flush(None)
            i = end
            continue
        if text.startswith("/*", i):
            depth, j = 0, i
            while j < n:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                    if depth == 0:
                        break
                else:
                    j += 1
            cur.append(text[i:j])
            line += text[i:j].count("\n")
            i = j
            continue
        if c in "'\"":
            escapes = c == "'" and i > 0 and text[i - 1] in "eE"
            j = i + 1
            while j < n:
                if escapes and text[j] == "\\":
                    j += 2
                    continue
                if text[j] == c:
                    if j + 1 < n and text[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            cur.append(text[i:j + 1])
            line += text[i:j + 1].count("\n")
            i = j + 1
            continue
        m = re.match(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$", text[i:])
        if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            tag = m.group(0)
            j = text.find(tag, i + len(tag))
            j = n if j < 0 else j + len(tag)
            cur.append(text[i:j])
            line += text[i:j].count("\n")
            i = j
            continue
        if c == ";":
            cur.append(";")
            flush(None)
            i += 1
            continue
        if c == "\n":
            line += 1
        cur.append(c)
        i += 1
    if "".join(cur).strip():
        cur.append(";")
        flush(None)
    return stmts


def clean_stderr(lines):
    out = []
    for l in lines:
        l = re.sub(r"^psql:[^:]*:\d+: ", "", l)
        out.append(l)
    return out


def match_stdout(expected, got):
    """expected: [(kind, text)] for '=>' exact lines, '~>' regexes, '...' any lines."""
    def rec(ei, gi):
        if ei == len(expected):
            return gi == len(got)
        kind, text = expected[ei]
        if kind == "=>" and text == "...":
            return any(rec(ei + 1, k) for k in range(gi, len(got) + 1))
        if gi == len(got):
            return False
        if kind == "=>" and got[gi] != text:
            return False
        if kind == "~>" and not re.fullmatch(text, got[gi]):
            return False
        return rec(ei + 1, gi + 1)
    return rec(0, 0)


def check(stmt, out_lines, err_lines, sqlstate):
    """Returns a failure message, or None."""
    err = clean_stderr(err_lines)
    actual = []
    for l in err:
        if l.startswith("ERROR:  ") and sqlstate:
            l = "ERROR:  " + sqlstate + ": " + l[len("ERROR:  "):]
        actual.append(l)
    want_err = [(k, t) for k, t in stmt.expect if t.startswith(STDERR_TAGS)]
    want_out = [(k, t) for k, t in stmt.expect if not t.startswith(STDERR_TAGS)]
    errors = [l for l in actual if l.startswith("ERROR:") or re.search(r"\berror: ", l)]
    if errors and not any(t.startswith("ERROR:") for _, t in want_err):
        return "unexpected error:\n" + "\n".join(actual)
    pos = 0
    for k, w in want_err:
        while pos < len(actual) and not (actual[pos] == w if k == "=>" else re.fullmatch(w, actual[pos])):
            pos += 1
        if pos == len(actual):
            return f"expected the line\n  {k} {w}\ngot:\n" + "\n".join("  " + l for l in actual)
        pos += 1
    while out_lines and out_lines[-1] == "":
        out_lines = out_lines[:-1]
    if want_out and not match_stdout(want_out, out_lines):
        return ("expected output:\n" + "\n".join(f"  {k} {t}" for k, t in want_out) + "\ngot:\n"
                + "\n".join("  " + l for l in out_lines))
    return None


def psql(db, script=None, args=(), cwd=None):
    cmd = [PSQL, "-X", "-q", "-A", "-t", "-F", " | ", "-d", db] + list(args)
    return subprocess.run(cmd, input=script, capture_output=True, text=True, cwd=cwd)


def run_page(path, counter):
    blocks = parse_page(path)
    if not any(not b.hidden for b in blocks):
        return []
    stem = re.sub(r"[^a-z0-9]+", "_", os.path.basename(path).lower().removesuffix(".md"))
    db = f"docs_{stem}"
    results = []
    roles_before = set(psql("postgres", "SELECT rolname FROM pg_roles").stdout.split())
    psql("postgres", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE);\nCREATE DATABASE "{db}";')
    tmp = tempfile.mkdtemp(prefix="pg_privacy_docs.")
    os.chmod(tmp, 0o777)
    creates = any(re.search(r"CREATE\s+EXTENSION\s+(IF\s+NOT\s+EXISTS\s+)?pg_privacy", b.text, re.I) for b in blocks)
    script = ["\\set VERBOSITY default", "\\pset pager off"]
    if not creates:
        script.append("CREATE EXTENSION pg_privacy;")
    plan = []  # (block, [statements])
    for bi, b in enumerate(blocks):
        if b.skip:
            plan.append((b, []))
            continue
        text = b.text
        for a, r in b.replace:
            if a not in text:
                raise SystemExit(f"{b.page}:{b.line}: replace: {a} is not in the block")
            text = text.replace(a, r)
        stmts = split_statements(text, b.line)
        plan.append((b, stmts))
        if b.database:
            script.append(f"\\c {b.database}")
        for si, st in enumerate(stmts):
            tag = f"@@{bi}.{si}"
            script += [f"\\echo '{tag}'", f"\\warn '{tag}'", "\\unset SQLSTATE", st.text,
                       f"\\warn '@@SQLSTATE' :SQLSTATE"]
        if b.database:
            script.append(f"\\c {db}")
    env_vars = ["-v", f"fixture_url={os.environ.get('PGP_FIXTURE_URL', 'http://127.0.0.1:9')}", "-v", f"docs_tmp={tmp}",
                "-v", f"docs_root={ROOT}", "-v", f"docs_db={db}"]
    run = psql(db, "\n".join(script) + "\n", env_vars, cwd=tmp)
    out_seg = split_segments(run.stdout)
    err_seg = split_segments(run.stderr)
    setup_errors = [l for l in err_seg.get(None, []) if "ERROR" in l or "error:" in l]
    for bi, (b, stmts) in enumerate(plan):
        if b.hidden and not stmts:
            continue
        failures = []
        if setup_errors and bi == 0:
            failures.append("the page's setup failed:\n" + "\n".join(setup_errors))
        for si, st in enumerate(stmts):
            tag = f"@@{bi}.{si}"
            errs = err_seg.get(tag, [])
            sqlstate = None
            rest = []
            for l in errs:
                m = re.match(r"^@@SQLSTATE (.*)$", l)
                if m:
                    sqlstate = None if m.group(1).startswith(":") else m.group(1)
                else:
                    rest.append(l)
            if tag not in err_seg:
                failures.append(f"line {st.line}: not run (psql stopped before it)")
                break
            f = check(st, out_seg.get(tag, []), rest, sqlstate)
            if f:
                failures.append(f"line {st.line}: {st.text.splitlines()[0]}\n{f}")
        if b.hidden:
            if failures:
                counter[0] += 1
                results.append((False, f"{b.page}: setup at line {b.line}", failures))
            continue
        counter[0] += 1
        name = f"{b.page}: block at line {b.line}"
        if b.skip:
            results.append((True, f"{name} # SKIP {b.skip}", []))
        else:
            results.append((not failures, name, failures))
    psql("postgres", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE);')
    new_roles = set(psql("postgres", "SELECT rolname FROM pg_roles").stdout.split()) - roles_before
    for r in sorted(new_roles):
        psql("postgres", f'DROP ROLE IF EXISTS "{r}";')
    return results


def split_segments(text):
    segs, cur = {None: []}, None
    for l in text.split("\n"):
        m = re.match(r"^@@(\d+\.\d+)$", l)
        if m:
            cur = "@@" + m.group(1)
            segs[cur] = []
            continue
        segs[cur].append(l)
    return segs


def parse_sqlstates_page():
    """docs/sqlstates.md's table: SQLSTATE -> the hint it shows ("" for none)."""
    rows = {}
    for line in open(os.path.join(ROOT, "docs", "sqlstates.md"), encoding="utf-8"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and re.fullmatch(r"`[0-9A-Z]{5}`", cells[0]):
            hint = cells[-1]
            m = re.fullmatch(r'"(.*)"', hint)
            rows[cells[0].strip("`")] = m.group(1) if m else hint
    return rows


def parse_triggers():
    """test/docs/sqlstates.sql: (setup, {SQLSTATE: statements text or ('skip', reason)})."""
    text = open(os.path.join(ROOT, "test", "docs", "sqlstates.sql"), encoding="utf-8").read()
    parts = re.split(r"^-- ([0-9A-Z]{5})\s*$", text, flags=re.M)
    setup, sections = parts[0], {}
    for code, body in zip(parts[1::2], parts[2::2]):
        m = re.search(r"^-- skip: (.+)$", body, re.M)
        sections[code] = ("skip", m.group(1)) if m else body
    return setup, sections


def hint_matches(want, got):
    """The page's hint text, where ... (U+2026) stands for any text."""
    if want == "":
        return got is None
    if got is None:
        return False
    return re.fullmatch(".*".join(re.escape(p) for p in want.split("\u2026")), got) is not None


def check_sqlstates(first):
    """One test per SQLSTATE of docs/sqlstates.md: its trigger raises it, with the hint shown."""
    rows, (setup, sections) = parse_sqlstates_page(), parse_triggers()
    db = "docs_sqlstates"
    roles_before = set(psql("postgres", "SELECT rolname FROM pg_roles").stdout.split())
    psql("postgres", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE);\nCREATE DATABASE "{db}";')
    tmp = tempfile.mkdtemp(prefix="pg_privacy_docs.")
    os.chmod(tmp, 0o777)
    script = ["\\set VERBOSITY default", "CREATE EXTENSION pg_privacy;", setup]
    for code, body in sections.items():
        if isinstance(body, tuple):
            continue
        script += [f"\\echo '@@{code}'", f"\\warn '@@{code}'"]
        for st in split_statements(body, 1):
            script += ["\\unset SQLSTATE", st.text, "\\warn '@@SQLSTATE' :SQLSTATE"]
    args = ["-v", f"fixture_url={os.environ.get('PGP_FIXTURE_URL', 'http://127.0.0.1:9')}", "-v", f"docs_tmp={tmp}",
            "-v", f"docs_db={db}"]
    run = psql(db, "\n".join(script) + "\n", args, cwd=tmp)
    segs, cur = {}, None
    for l in run.stderr.split("\n"):
        m = re.match(r"^@@([0-9A-Z]{5})$", l)
        if m:
            cur = m.group(1)
            segs[cur] = []
        elif cur:
            segs[cur].append(re.sub(r"^psql:[^:]*:\d+: ", "", l))
    results, n = [], first
    for code, want in rows.items():
        body = sections.get(code)
        name = f"docs/sqlstates.md: {code}"
        if body is None:
            results.append((False, name, [f"no trigger for {code} in test/docs/sqlstates.sql"]))
            continue
        if isinstance(body, tuple):
            results.append((True, f"{name} # SKIP {body[1]}", []))
            continue
        # The last error of the section, its SQLSTATE (the marker after it) and its hint.
        last = None
        lines = segs.get(code, [])
        for i, l in enumerate(lines):
            if l.startswith("ERROR:  "):
                hint, state = None, None
                for k in range(i + 1, len(lines)):
                    if lines[k].startswith("HINT:  ") and hint is None:
                        hint = lines[k][len("HINT:  "):]
                    m = re.match(r"^@@SQLSTATE (.*)$", lines[k])
                    if m:
                        state = m.group(1)
                        break
                last = (l, state, hint)
        if last is None:
            results.append((False, name, ["no error raised:"] + lines))
            continue
        msg, state, hint = last
        problems = []
        if state != code:
            problems.append(f"raised {state}, not {code}: {msg}")
        if not hint_matches(want, hint):
            problems.append(f"the page shows the hint: {want or '(none)'}\nraised: {hint or '(none)'}")
        results.append((not problems, name, problems))
    psql("postgres", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE);')
    for r in sorted(set(psql("postgres", "SELECT rolname FROM pg_roles").stdout.split()) - roles_before):
        psql("postgres", f'DROP OWNED BY "{r}"; DROP ROLE IF EXISTS "{r}";')
    return results


def check_settings(first):
    """docs/install.md's settings table lists every privacy.* setting the library defines."""
    page = open(os.path.join(ROOT, "docs", "install.md"), encoding="utf-8").read()
    defined = psql("postgres", "SELECT name FROM pg_settings WHERE name LIKE 'privacy.%' ORDER BY 1").stdout.split()
    listed = set(re.findall(r"`privacy\.([a-z_]+)`", page)) | set(re.findall(r"`([a-z_]+)`", page))
    missing = [d for d in defined if d.removeprefix("privacy.") not in listed]
    if not defined:
        return [(False, "docs/install.md: settings table", ["pg_settings shows no privacy.* setting (not preloaded?)"])]
    return [(not missing, "docs/install.md: the settings table lists every privacy.* setting",
             [f"missing: {', '.join(missing)}"] if missing else [])]


def main(argv):
    pages = argv or (["README.md"] + sorted("docs/" + f for f in os.listdir(os.path.join(ROOT, "docs"))
                                            if f.endswith(".md")))
    counter, n, failed = [0], 0, 0
    for p in pages:
        results = run_page(os.path.join(ROOT, p), counter)
        if p == "docs/sqlstates.md":
            results += check_sqlstates(n)
        if p == "docs/install.md":
            results += check_settings(n)
        for ok, name, failures in results:
            n += 1
            print(f"{'ok' if ok else 'not ok'} {n} - {name}")
            for f in failures:
                for l in f.split("\n"):
                    print(f"#   {l}")
            failed += not ok
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
