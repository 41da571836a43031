"""rasid-data: validate, convert and describe annotated corpora.

    rasid-data validate FILE.jsonl [FILE ...]
    rasid-data convert --from conll|labelstudio|markup --to jsonl IN OUT
    rasid-data convert --from jsonl --to conll|markup IN OUT
    rasid-data stats FILE.jsonl [FILE ...]
    rasid-data consistency FILE.jsonl [FILE ...] [--allow data/corpus/consistency_allow.tsv]
    rasid-data export-labelstudio PREDICTIONS.jsonl TASKS.json [--model DIR] [--config-xml FILE]
    rasid-data select --model DIR --input POOL.jsonl --k 200 --strategy uncertainty|diverse|random --output PICKED.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

from .schema import ATTACK_TYPES, ENTITY_LABELS, DataError, LabelSet, validate_file, write_jsonl


def _labels(args) -> LabelSet:
    """The label set of --entity-labels / --attack-types; ``auto`` reads it off the files."""
    from .schema import infer_attack_types, infer_entity_labels

    files = [f for f in args.files if Path(f).is_file()]
    if args.entity_labels == "auto":
        ents = tuple(infer_entity_labels(files))
    else:
        ents = tuple(x.strip() for x in args.entity_labels.split(",") if x.strip()) if args.entity_labels else ENTITY_LABELS
    if args.attack_types == "auto":
        types = tuple(infer_attack_types(files))
    else:
        types = tuple(x.strip() for x in args.attack_types.split(",") if x.strip()) if args.attack_types else ATTACK_TYPES
    return LabelSet(ents, types)


def cmd_validate(args) -> int:
    total, bad = 0, 0
    labels = _labels(args)
    for f in args.files:
        recs, problems = validate_file(f, labels)
        total += len(recs)
        bad += len(problems)
        for p in problems:
            print(p)
    print(f"{len(args.files)} file(s), {total} valid records, {bad} problem(s)", file=sys.stderr)
    return 1 if bad else 0


def cmd_convert(args) -> int:
    from . import convert, markup

    src, dst = args.src, args.dst
    conv = None
    if args.from_ == "jsonl":
        records = convert.read_jsonl(src)
    elif args.from_ == "conll":
        conv = convert.read_conll(src, word_column=args.word_column, tag_column=args.tag_column)
    elif args.from_ == "labelstudio":
        conv = convert.read_labelstudio(src, text_key=args.text_key, choices_from=args.choices_from,
                                        annotation=args.annotation, unannotated=args.unannotated)
    elif args.from_ == "markup":
        records, errors = markup.compile_file(src)
        if errors:
            raise DataError(errors)
    if conv is not None:  # every note and every problem, then the records that did convert
        for note in conv.notes:
            print(f"rasid-data: warning: {note}", file=sys.stderr)
        for problem in conv.problems:
            print(problem, file=sys.stderr)
        records = conv.records
    if args.to == "jsonl":
        n = write_jsonl(records, dst)
    elif args.to == "conll":
        Path(dst).write_text(convert.jsonl_to_conll(records), encoding="utf-8")
        n = len(records)
    else:  # markup
        out = []
        for r in records:
            rec = {k: v for k, v in r.items() if k not in ("text", "entities")}
            rec["markup"] = markup.to_markup(r["text"], r.get("entities", []))
            out.append(rec)
        n = write_jsonl(out, dst)
    print(f"wrote {n} records to {dst}", file=sys.stderr)
    if conv is not None and conv.problems:
        print(f"rasid-data: {len(conv.problems)} problem(s) listed above; the segments or tasks they name "
              f"are not in {dst}", file=sys.stderr)
        return 1
    return 0


def _hist(values: list[int], buckets=(1, 2, 3, 4, 6, 10)) -> str:
    c = Counter()
    for v in values:
        key = next((f"{b}" if b == 1 or buckets[i - 1] + 1 == b else f"{buckets[i - 1] + 1}-{b}"
                    for i, b in enumerate(buckets) if v <= b), f">{buckets[-1]}")
        c[key] += 1
    order = [f"{b}" if b == 1 or buckets[i - 1] + 1 == b else f"{buckets[i - 1] + 1}-{b}" for i, b in enumerate(buckets)] + [f">{buckets[-1]}"]
    width = max(c.values(), default=1)
    return "\n".join(f"    {k:>6} words {c[k]:>6} {'#' * max(1 if c[k] else 0, round(40 * c[k] / width))}" for k in order)


def stats(records: list[dict]) -> str:
    labels, types, theatres, lengths = Counter(), Counter(), Counter(), defaultdict(list)
    counts_null, no_attack = Counter(), 0
    for r in records:
        theatres[r.get("theatre", "unknown")] += 1
        if not r.get("attack_types"):
            no_attack += 1
        types.update(r.get("attack_types", []))
        for e in r.get("entities", []):
            labels[e["label"]] += 1
            lengths[e["label"]].append(len(r["text"][e["start"] : e["end"]].split()))
            if e["label"] in ("KILLED", "WOUNDED") and e.get("count") is None:
                counts_null[e["label"]] += 1
    words = [len(r["text"].split()) for r in records]
    out = [f"segments: {len(records)}  (words per segment: min {min(words, default=0)}, "
           f"mean {sum(words) / max(1, len(words)):.1f}, max {max(words, default=0)})"]
    out.append("entities per label:")
    out += [f"  {k:<10}{v:>7}" + (f"   ({counts_null[k]} with count null)" if k in counts_null else "") for k, v in labels.most_common()]
    out.append("segments per attack type:")
    out += [f"  {k:<16}{v:>7}" for k, v in types.most_common()] + [f"  {'(none)':<16}{no_attack:>7}"]
    out.append("segments per theatre:")
    out += [f"  {k:<16}{v:>7}" for k, v in sorted(theatres.items())]
    for lab in sorted(lengths):
        out.append(f"span length histogram, {lab}:")
        out.append(_hist(lengths[lab]))
    return "\n".join(out)


def _load_valid(args) -> list[dict]:
    """All records of args.files; DataError listing every problem otherwise."""
    from .schema import load_corpus

    return load_corpus(args.files, _labels(args))


def cmd_stats(args) -> int:
    print(stats(_load_valid(args)))
    return 0


def cmd_consistency(args) -> int:
    from .consistency import find_disagreements, load_allowlist

    records = _load_valid(args)
    allow = load_allowlist(args.allow) if args.allow else {}
    rows = find_disagreements(records, allow)
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    print(f"{len(rows)} unexplained disagreement(s)", file=sys.stderr)
    return 1 if rows else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="rasid-data", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--entity-labels", help="comma-separated entity labels, e.g. PERS,LOC,ORG,MISC, or auto: "
                        "the labels the files use (default: the schema's ACTOR,KILLED,WOUNDED)")
    common.add_argument("--attack-types", help="comma-separated attack types, or auto: the ones the files use "
                        "(default: the schema's)")
    p = sub.add_parser("validate", parents=[common], help="report every schema violation as file:line: reason")
    p.add_argument("files", nargs="+")
    p.set_defaults(fn=cmd_validate)
    p = sub.add_parser("convert", help="convert between JSONL, CoNLL/BIO, Label Studio and markup")
    p.add_argument("--from", dest="from_", required=True, choices=["jsonl", "conll", "labelstudio", "markup"])
    p.add_argument("--to", required=True, choices=["jsonl", "conll", "markup"])
    p.add_argument("--text-key", default="text", help="Label Studio: the data field holding the text")
    p.add_argument("--choices-from", help="Label Studio: the choices control (from_name) holding attack types "
                   "(default: every choices result)")
    p.add_argument("--annotation", choices=["most-recent", "first", "last", "fail"], default="most-recent",
                   help="Label Studio: which annotation counts when a task has several: most-recent (default): "
                        "the latest updated_at; first / last: as listed in the export; fail: report tasks whose "
                        "annotations disagree. The count of such tasks is always reported")
    p.add_argument("--unannotated", choices=["skip", "keep", "predictions"], default="skip",
                   help="Label Studio: tasks with no usable annotation (predictions only, only cancelled "
                        "annotations, none): skip (default), keep as segments with no entities, or predictions: "
                        "convert prediction-only tasks from their latest prediction (cancelled ones stay skipped); "
                        "counted either way")
    p.add_argument("--word-column", type=int, default=0, help="CoNLL: the column holding the word (default: 0, the first)")
    p.add_argument("--tag-column", type=int, default=-1, help="CoNLL: the column holding the tag (default: -1, the last)")
    p.add_argument("src")
    p.add_argument("dst")
    p.set_defaults(fn=cmd_convert)
    p = sub.add_parser("stats", parents=[common], help="counts per label, attack type, theatre; span lengths")
    p.add_argument("files", nargs="+")
    p.set_defaults(fn=cmd_stats)
    p = sub.add_parser("consistency", parents=[common], help="strings annotated in one place but not another")
    p.add_argument("files", nargs="+")
    p.add_argument("--allow", help="TSV of explained disagreements: string<TAB>reason")
    p.set_defaults(fn=cmd_consistency)
    from .active import add_export_parser, add_select_parser

    add_export_parser(sub)
    add_select_parser(sub)
    args = ap.parse_args(argv)
    if getattr(args, "cmd", None) == "convert" and args.from_ == "jsonl" and args.to == "jsonl":
        ap.error("--from jsonl --to jsonl converts nothing")
    try:
        return args.fn(args)
    except DataError as exc:
        print(f"rasid-data: invalid data:\n{exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError, ValueError) as exc:
        print(f"rasid-data: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
