#!/usr/bin/env python3
"""Lists functions in crates/*/src longer than a limit (default 80 lines, signature to closing
brace). Used by .ci/run: long functions are where use cases hide. Exit 1 if any is found."""
import pathlib, re, sys

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 80
FN = re.compile(r'^\s*(pub(\([a-z]+\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+"C"\s+)?fn\s+(\w+)')

def strip(line):
    # Drop string/char literals and // comments so their braces do not count.
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])'", "''", line)
    return line.split('//')[0]

found = []
for path in sorted(pathlib.Path('crates').glob('*/src/**/*.rs')):
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = FN.match(lines[i])
        if not m:
            i += 1
            continue
        depth, opened, j = 0, False, i
        while j < len(lines):
            s = strip(lines[j])
            if not opened and ';' in s and '{' not in s:
                break  # a declaration without a body (trait method)
            depth += s.count('{') - s.count('}')
            opened = opened or '{' in s
            if opened and depth <= 0:
                break
            j += 1
        if opened and j - i + 1 > LIMIT:
            found.append(f"{path}:{i + 1}: fn {m.group(7)} is {j - i + 1} lines")
        i += 1
for f in found:
    print(f)
sys.exit(1 if found else 0)
