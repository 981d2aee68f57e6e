#!/usr/bin/env python3
"""Checks the documentation's links without the network.

Every relative link and #anchor in docs/src/**/*.md, README.md,
CHANGELOG.md and ARCHITECTURE.md must resolve: the file (or folder) must
exist, and an anchor must be the id of a heading in the target, computed
the way GitHub and mdBook compute it (lower case; letters, digits, `-` and
`_` kept; each space a `-`; everything else dropped; `-1`, `-2`, … for
repeats). External links (http:, https:, mailto:) are not fetched.

Pages of the book (docs/src) have two more rules, because mdBook renders
only what SUMMARY.md lists and only what is inside docs/src:
- a link from a page must stay inside docs/src ({{#include}} may reach
  out: mdBook copies the text in);
- every page must be listed in SUMMARY.md.

With --book DIR (the output of `mdbook build docs`), each link from a page
is also checked against the HTML that mdBook wrote: the page must exist
and the anchor must be an id in it. Every heading id this script computes
for a page must also be in mdBook's HTML, which keeps its rule honest for
README.md and CHANGELOG.md too.

Usage: python3 .ci/link-check.py [--book docs/book]
Exits 1 and names every broken link.
"""

import argparse
import html
import os
import re
import sys
import urllib.parse

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BOOK_SRC = os.path.join(ROOT, "docs", "src")
TOP_LEVEL = ["README.md", "CHANGELOG.md", "ARCHITECTURE.md"]

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
INCLUDE = re.compile(r"\{\{#include\s+([^}\s]+)\s*\}\}")
# [text](dest "title") and ![alt](dest); the text may span lines and hold
# one level of brackets.
INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>\n]*>|[^\s()<>]+(?:\([^\s()]*\)[^\s()<>]*)*)"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"
)
REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.M)
HTML_ATTR = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*\"([^\"]*)\"", re.I)
HTML_ANCHOR = re.compile(r"<a\b[^>]*?\b(?:id|name)\s*=\s*\"([^\"]*)\"", re.I)
CUSTOM_ID = re.compile(r"\s*\{#([^\s}]+)[^}]*\}\s*$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def expand_includes(path, text, seen=()):
    """mdBook's {{#include file}}: the included text, for headings."""

    def include(match):
        target = os.path.normpath(os.path.join(os.path.dirname(path), match.group(1).split(":")[0]))
        if target in seen or not os.path.isfile(target):
            return ""
        return expand_includes(target, read(target), seen + (target,))

    return INCLUDE.sub(include, text)


def blank_code(text):
    """The text with fenced code blocks and code spans blanked out (same
    length and line breaks, so offsets still give line numbers)."""
    out = []
    fence = None
    for line in text.split("\n"):
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            out.append(" " * len(line))
            continue
        if m:
            fence = m.group(1)
            out.append(" " * len(line))
            continue
        out.append(line)
    text = "\n".join(out)

    def spans(match):
        return "".join("\n" if c == "\n" else " " for c in match.group(0))

    return re.sub(r"(`+)(?:(?!\1).)+?\1", spans, text, flags=re.S)


def heading_text(raw):
    """A heading's text as rendered: no markup, code kept as text."""
    text = re.sub(r"`+([^`]*)`+", r"\1", raw)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"\*+|~~", "", text)
    text = re.sub(r"(?<![A-Za-z0-9])_+|_+(?![A-Za-z0-9])", "", text)
    return html.unescape(text)


def slug(text):
    text = text.strip().lower()
    return "".join(
        c if (c.isalnum() or c in "-_") else "-" if c.isspace() else "" for c in text
    )


def anchors_of(path, cache={}):
    """The ids a Markdown file's headings (and <a id>/<a name>) get."""
    if path in cache:
        return cache[path]
    text = expand_includes(path, read(path))
    lines = text.split("\n")
    code_free = blank_code(text).split("\n")
    ids, used = set(), set()

    def add(base):
        candidate, n = base, 0
        while candidate in used:
            n += 1
            candidate = f"{base}-{n}"
        used.add(candidate)
        ids.add(candidate)

    for i, line in enumerate(code_free):
        # Matched on the code-free line (a `#` in a fence is no heading),
        # read from the line itself (a heading may be all code span: its
        # text is the code); an underline is the line itself too (a list
        # item holding only a code span is no `-` underline).
        m = ATX.match(line) and ATX.match(lines[i])
        title = None
        if m:
            title = m.group(2)
        elif (
            i > 0
            and re.match(r"^ {0,3}(=+|-+)\s*$", lines[i])
            and code_free[i - 1].strip()
            and not re.match(r"^\s*([-*+|]|\d+\.)", code_free[i - 1])
        ):
            title = lines[i - 1].strip()
        if title is not None:
            custom = CUSTOM_ID.search(title)
            if custom:
                used.add(custom.group(1))
                ids.add(custom.group(1))
            else:
                add(slug(heading_text(title)))
        for a in HTML_ANCHOR.finditer(lines[i]):
            ids.add(a.group(1))
    cache[path] = ids
    return ids


def html_ids(path, cache={}):
    if path not in cache:
        cache[path] = {html.unescape(v) for v in re.findall(r'\bid="([^"]*)"', read(path))}
    return cache[path]


def links_of(path):
    """(line number, destination, is_include) for every link in a file."""
    text = read(path)
    code_free = blank_code(text)
    found = []

    def line_of(offset):
        return code_free.count("\n", 0, offset) + 1

    for m in INLINE_LINK.finditer(code_free):
        dest = m.group(1)
        if dest.startswith("<"):
            dest = dest[1:-1]
        found.append((line_of(m.start()), dest, False))
    for m in REFERENCE_DEF.finditer(code_free):
        dest = m.group(1).strip("<>")
        found.append((line_of(m.start()), dest, False))
    for m in HTML_ATTR.finditer(code_free):
        found.append((line_of(m.start()), html.unescape(m.group(1)), False))
    # Includes are found in the raw text: mdBook expands them even where
    # Markdown would see code.
    for m in INCLUDE.finditer(text):
        found.append((text.count("\n", 0, m.start()) + 1, m.group(1).split(":")[0], True))
    return found


def inside(path, folder):
    return os.path.commonpath([os.path.abspath(path), folder]) == folder


def check_file(path, book_dir, problems):
    rel = os.path.relpath(path, ROOT)
    in_book = inside(path, BOOK_SRC)
    checked = 0
    for line, dest, is_include in links_of(path):
        where = f"{rel}:{line}"
        if SCHEME.match(dest) or dest.startswith("//"):
            continue  # external: not fetched
        checked += 1
        target_part, _, fragment = dest.partition("#")
        target_part = urllib.parse.unquote(target_part)
        fragment = urllib.parse.unquote(fragment)
        if target_part.startswith("/"):
            problems.append(f"{where}: '{dest}': absolute paths do not resolve on GitHub or in the book; use a relative path")
            continue
        target = os.path.normpath(os.path.join(os.path.dirname(path), target_part)) if target_part else path
        if not os.path.exists(target):
            problems.append(f"{where}: '{dest}': no such file {os.path.relpath(target, ROOT)}")
            continue
        if is_include:
            continue
        if in_book and not inside(target, BOOK_SRC):
            problems.append(
                f"{where}: '{dest}': leaves docs/src, so the built book cannot follow it "
                "(link a page of the book, or {{#include}} the file into one)"
            )
            continue
        is_markdown = os.path.isfile(target) and target.endswith(".md")
        if fragment and is_markdown and fragment not in anchors_of(target):
            problems.append(f"{where}: '{dest}': no heading with the id '{fragment}' in {os.path.relpath(target, ROOT)}")
            continue
        if book_dir and in_book and is_markdown:
            page = os.path.join(book_dir, os.path.relpath(target, BOOK_SRC))[: -len(".md")] + ".html"
            if not os.path.isfile(page):
                problems.append(f"{where}: '{dest}': mdBook wrote no {os.path.relpath(page, ROOT)}")
            elif fragment and fragment not in html_ids(page):
                problems.append(f"{where}: '{dest}': mdBook gave {os.path.relpath(page, ROOT)} no id '{fragment}'")
    return checked


def check_summary(problems):
    """Every page is listed in SUMMARY.md; returns the pages listed."""
    summary = os.path.join(BOOK_SRC, "SUMMARY.md")
    listed = set()
    for _, dest, _ in links_of(summary):
        if not SCHEME.match(dest):
            listed.add(os.path.normpath(os.path.join(BOOK_SRC, urllib.parse.unquote(dest.partition("#")[0]))))
    for folder, _, files in os.walk(BOOK_SRC):
        for name in files:
            path = os.path.normpath(os.path.join(folder, name))
            if name.endswith(".md") and path != summary and path not in listed:
                problems.append(f"{os.path.relpath(path, ROOT)}: not listed in docs/src/SUMMARY.md, so the book leaves it out")
    return listed


def check_rule(book_dir, pages, problems):
    """The ids computed here for each page's headings are mdBook's own."""
    for path in sorted(pages):
        if not os.path.isfile(path):
            continue  # reported as a broken link in SUMMARY.md
        page = os.path.join(book_dir, os.path.relpath(path, BOOK_SRC))[: -len(".md")] + ".html"
        if not os.path.isfile(page):
            problems.append(f"{os.path.relpath(page, ROOT)}: mdBook did not write this page")
            continue
        for missing in sorted(anchors_of(path) - html_ids(page)):
            problems.append(
                f"{os.path.relpath(path, ROOT)}: heading id '{missing}' computed here is not in "
                f"{os.path.relpath(page, ROOT)}: this script's id rule no longer matches mdBook's"
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--book", help="mdBook's output folder, to check the built pages too")
    args = parser.parse_args()
    book_dir = os.path.abspath(args.book) if args.book else None
    if book_dir and not os.path.isdir(book_dir):
        sys.exit(f"link check: {args.book} does not exist; run `mdbook build docs` first")

    files = [os.path.join(ROOT, name) for name in TOP_LEVEL]
    for folder, _, names in os.walk(BOOK_SRC):
        files += [os.path.join(folder, n) for n in sorted(names) if n.endswith(".md")]
    problems = []
    pages = check_summary(problems)
    if book_dir:
        check_rule(book_dir, pages, problems)
    checked = sum(check_file(path, book_dir, problems) for path in sorted(files))
    if problems:
        print(f"link check: {len(problems)} broken link(s):", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        sys.exit(1)
    built = " and the built book" if book_dir else ""
    print(f"link check: {checked} relative links in {len(files)} files resolve in the sources{built}")


if __name__ == "__main__":
    main()
