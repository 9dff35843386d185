#!/usr/bin/env python3
"""Checks what `sam build` left in .aws-sam/build and reports each function's size.

Usage: check_sam_build.py ARCH [TEMPLATE] [BUILD_DIR]   (ARCH: arm64 or x86_64)

Fails (exit 1) when a function of TEMPLATE (every AWS::Serverless::Function) is missing from
BUILD_DIR, when its bootstrap is not an executable ELF file for ARCH (the e_machine field of the
ELF header), or when the built template BUILD_DIR/template.yaml does not point the function's
CodeUri at its own built folder. Prints each bootstrap's size, raw and zipped as Lambda stores it.
Runs with the Python of .tools/sam-cli (it has PyYAML).
"""

import io
import os
import stat
import sys
import zipfile

import yaml

# ELF e_machine values (the ELF specification's registry).
E_MACHINE = {"arm64": 183, "x86_64": 62}


class TemplateLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub...) as plain values."""


def _any_tag(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


TemplateLoader.add_multi_constructor("!", _any_tag)


def functions(template_path):
    with open(template_path) as f:
        template = yaml.load(f, Loader=TemplateLoader)
    return {
        name: resource
        for name, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


def elf_machine(path):
    """(is_elf, e_machine) from the file's header (little-endian: both targets are)."""
    with open(path, "rb") as f:
        header = f.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return False, None
    return True, int.from_bytes(header[18:20], "little")


def zipped_size(path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.write(path, "bootstrap")
    return buffer.getbuffer().nbytes


def mb(size):
    return f"{size / 1048576:.1f} MB"


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in E_MACHINE:
        sys.exit("usage: check_sam_build.py arm64|x86_64 [TEMPLATE] [BUILD_DIR]")
    arch = sys.argv[1]
    template = sys.argv[2] if len(sys.argv) > 2 else "template.yaml"
    build_dir = sys.argv[3] if len(sys.argv) > 3 else ".aws-sam/build"
    expected = functions(template)
    if not expected:
        sys.exit(f"check-sam-build: no AWS::Serverless::Function in {template}")
    built_template = os.path.join(build_dir, "template.yaml")
    if not os.path.isfile(built_template):
        sys.exit(f"check-sam-build: {built_template} is missing: did `sam build` run?")
    built = functions(built_template)

    problems = []
    rows = []
    for name in sorted(expected):
        binary = expected[name].get("Metadata", {}).get("BuildProperties", {}).get("Binary", "?")
        resource = built.get(name)
        if resource is None:
            problems.append(f"{name}: not in {built_template}")
            continue
        code_uri = resource.get("Properties", {}).get("CodeUri")
        # sam build writes CodeUri relative to the built template's folder.
        if code_uri is None or os.path.normpath(os.path.join(build_dir, str(code_uri))) != os.path.normpath(
            os.path.join(build_dir, name)
        ):
            problems.append(f"{name}: the built template's CodeUri is {code_uri!r}, not its built folder {name}")
        bootstrap = os.path.join(build_dir, name, "bootstrap")
        if not os.path.isfile(bootstrap):
            problems.append(f"{name}: {bootstrap} is missing")
            continue
        if not os.stat(bootstrap).st_mode & stat.S_IXUSR:
            problems.append(f"{name}: {bootstrap} is not executable")
        is_elf, machine = elf_machine(bootstrap)
        if not is_elf:
            problems.append(f"{name}: {bootstrap} is not an ELF file")
        elif machine != E_MACHINE[arch]:
            problems.append(f"{name}: {bootstrap} is for ELF machine {machine}, not {arch} ({E_MACHINE[arch]})")
        rows.append((name, binary, os.path.getsize(bootstrap), zipped_size(bootstrap)))
    for name in sorted(set(built) - set(expected)):
        problems.append(f"{name}: in the built template but not in {template}")

    print(f"{'function':<40} {'binary':<34} {'bootstrap':>10} {'zipped':>10}")
    for name, binary, raw, zipped in rows:
        print(f"{name:<40} {binary:<34} {mb(raw):>10} {mb(zipped):>10}")
    print(f"{'total':<40} {'':<34} {'':>10} {mb(sum(r[3] for r in rows)):>10}")
    if problems:
        print("\ncheck-sam-build: FAILED", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        sys.exit(1)
    print(f"check-sam-build: {len(rows)} functions built for {arch}, each an ELF executable in its own folder", file=sys.stderr)


if __name__ == "__main__":
    main()
