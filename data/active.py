"""rasid-data export-labelstudio and rasid-data select: the retraining loop's data commands.

    rasid-data export-labelstudio predictions.jsonl tasks.json [--model DIR] [--config-xml FILE]
    rasid-data select --model DIR --input pool.jsonl --k 200 --strategy uncertainty --output picked.jsonl

See ``rasid.inference.labelstudio`` for the task format and ``rasid.data.select``
for how segments are ranked.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .schema import DataError, iter_jsonl


def read_records(path: str, text_field: str) -> list[dict]:
    """JSONL records that each hold a non-empty string ``text_field``; DataError listing every bad line."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such file")
    records, problems = [], []
    for lineno, rec, err in iter_jsonl(path):
        if err:
            problems.append(f"{path}:{lineno}: {err}")
        elif not isinstance(rec.get(text_field), str) or not rec[text_field].strip():
            problems.append(f"{path}:{lineno}: no non-empty string field {text_field!r}"
                            + (" (rasid-predict --keep-text keeps the text in its output)" if "entities" in rec else ""))
        else:
            records.append(rec)
    if problems:
        raise DataError(problems)
    return records


# -- export-labelstudio ------------------------------------------------------
def cmd_export(args) -> int:
    from rasid.inference import labelstudio as ls

    records = read_records(args.predictions, args.text_field)
    ents = types = None
    version = args.model_version or "rasid"
    if args.model:
        from rasid.models.modeling import load_config

        cfg = load_config(args.model)
        ents, types = list(cfg.entity_labels), list(cfg.attack_types)
        version = args.model_version or ls.model_version(args.model)
    n, xml = ls.write_tasks(records, args.tasks, version, args.text_field, ents, types, args.config_xml)
    print(f"wrote {n} Label Studio task(s) to {args.tasks} (model_version {version}) and the labelling config to {xml}",
          file=sys.stderr)
    return 0


def add_export_parser(sub) -> None:
    p = sub.add_parser("export-labelstudio", help="rasid-predict output -> Label Studio tasks with pre-annotations",
                       description="Write predictions as Label Studio tasks (predictions with model_version, spans, "
                                   "per-span counts, attack-type choices, scores) and the labelling config XML.")
    p.add_argument("predictions", help="rasid-predict JSONL output run with --keep-text")
    p.add_argument("tasks", help="Label Studio tasks JSON to write")
    p.add_argument("--model", help="the model directory: its label set and a model_version NAME@HASH of its weights")
    p.add_argument("--model-version", help="model_version of the predictions (default: from --model, else 'rasid')")
    p.add_argument("--config-xml", help="where to write the labelling config (default: TASKS.labelstudio.xml)")
    p.add_argument("--text-field", default="text", help="field holding the text (default: text)")
    p.set_defaults(fn=cmd_export)


# -- select ------------------------------------------------------------------
def _excluded_ids(paths: list[str], id_field: str) -> set[str]:
    ids: set[str] = set()
    for path in paths or []:
        for _, rec, err in iter_jsonl(path):
            if not err and rec.get(id_field) is not None:
                ids.add(str(rec[id_field]))
    return ids


def _html(stats: dict, picked: list[dict], text_field: str) -> str:
    from rasid.inference.report import esc, page_html

    def num(v):
        return "—" if v is None else f"{v:.3f}" if isinstance(v, float) else esc(v)

    rows = "".join(
        f"<tr><td>{p['rank']}</td><td>{esc(p['id'])}</td><td>{num(p['score'])}</td><td>{num(p['tag'])}</td>"
        f"<td>{num(p['type'])}</td><td>{num(p.get('cluster'))}</td><td dir=\"rtl\">{esc(r[text_field][:300])}</td></tr>"
        for p, r in zip(stats["picks"], picked))
    s = stats["score"]
    head = (f"<h1>rasid-data select: {esc(stats['strategy'])}</h1><p class=\"summary\">{stats['picked']} of "
            f"{stats['pool']} records (seed {stats['seed']}); mean uncertainty picked {num(s.get('picked_mean'))}, "
            f"pool {num(s.get('pool_mean'))}</p>")
    table = ('<table dir="ltr"><tr><th>rank</th><th>id</th><th>score</th><th>tags</th><th>types</th><th>cluster</th>'
             f"<th>text</th></tr>{rows}</table>")
    return page_html("rasid-data select", "td{vertical-align:top}", head + table, lang="en", direction="ltr")


def run_select(args, predictor=None) -> dict:
    """Pick ``args.k`` records of ``args.input``; write them and the stats. Returns the stats."""
    from .select import pick, score_pool

    pool = read_records(args.input, args.text_field)
    skip = _excluded_ids(args.exclude, args.id_field)
    ids = [str(r.get(args.id_field, i)) for i, r in enumerate(pool)]
    keep = [i for i, rid in enumerate(ids) if rid not in skip]
    n_excluded = len(ids) - len(keep)
    pool, ids = [pool[i] for i in keep], [ids[i] for i in keep]
    scored = None
    if args.model and (args.strategy != "random" or args.score_random):
        if predictor is None:
            from rasid.inference.predictor import Predictor

            predictor = Predictor.from_pretrained(args.model)
        scored = score_pool(predictor, [r[args.text_field] for r in pool], args.batch_size, args.measure,
                            embeddings=args.strategy == "diverse", progress=not args.quiet)
    elif args.strategy != "random":
        raise ValueError(f"--strategy {args.strategy} needs --model")
    scores = np.array([s.score for s in scored]) if scored else None
    embs = np.stack([s.embedding for s in scored]) if args.strategy == "diverse" else None
    chosen, clusters = pick(args.strategy, len(pool), args.k, args.seed, scores, embs, args.clusters)
    picked = [pool[i] for i in chosen]
    out = Path(args.output)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in picked), encoding="utf-8")
    tmp.replace(out)

    def r4(v):
        return None if v is None else round(float(v), 4)

    stats = {"strategy": args.strategy, "seed": args.seed, "k": args.k, "pool": len(pool), "excluded": n_excluded,
             "picked": len(picked), "model": args.model, "measure": args.measure, "score": {}, "picks": []}
    if scores is not None and len(scores):
        stats["score"] = {"pool_mean": r4(scores.mean()), "picked_mean": r4(scores[chosen].mean()) if chosen else None,
                          "picked_min": r4(scores[chosen].min()) if chosen else None,
                          "picked_max": r4(scores[chosen].max()) if chosen else None}
    if clusters is not None:
        stats["clusters"] = {"n": int(clusters.max()) + 1, "covered": len({int(clusters[i]) for i in chosen})}
    for rank, i in enumerate(chosen, 1):
        s = scored[i] if scored else None
        stats["picks"].append({"rank": rank, "id": ids[i], "score": r4(s.score) if s else None,
                               "tag": r4(s.tag) if s else None, "type": r4(s.type) if s else None,
                               **({"cluster": int(clusters[i])} if clusters is not None else {})})
    stats_path = out.with_name(out.stem + ".stats.json")
    stats_path.write_text(json.dumps(stats, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.html:
        Path(args.html).write_text(_html(stats, picked, args.text_field), encoding="utf-8")
    return stats


def summary(stats: dict) -> str:
    s = stats["score"]
    lines = [f"picked {stats['picked']} of {stats['pool']} records ({stats['strategy']}, seed {stats['seed']}; "
             f"{stats['excluded']} already labelled left out)"]
    if s:
        lines.append(f"uncertainty: picked mean {s['picked_mean']} (min {s['picked_min']}, max {s['picked_max']}), "
                     f"pool mean {s['pool_mean']}")
    if "clusters" in stats:
        lines.append(f"clusters: {stats['clusters']['covered']} of {stats['clusters']['n']} covered")
    return "\n".join(lines)


def cmd_select(args) -> int:
    if args.k < 1:
        raise ValueError("--k must be at least 1")
    stats = run_select(args)
    print(summary(stats), file=sys.stderr)
    print(f"wrote {stats['picked']} records to {args.output} and stats to "
          f"{Path(args.output).with_name(Path(args.output).stem + '.stats.json')}", file=sys.stderr)
    return 0


def add_select_parser(sub) -> None:
    from .select import STRATEGIES, TAG_MEASURES

    p = sub.add_parser("select", help="pick the unlabelled segments most worth labelling",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       description="Rank a pool of unlabelled records by the model's uncertainty and write the k "
                                   "chosen records, one a line, plus OUTPUT.stats.json.")
    p.add_argument("--model", help="checkpoint directory (needed by uncertainty and diverse)")
    p.add_argument("--input", required=True, help="pool JSONL: one record a line with a text field")
    p.add_argument("--output", required=True, help="JSONL of the chosen records")
    p.add_argument("--k", type=int, default=200, help="how many records to pick")
    p.add_argument("--strategy", choices=STRATEGIES, default="uncertainty",
                   help="uncertainty: most uncertain first; diverse: the most uncertain of each k-means cluster of "
                        "encoder embeddings; random: the baseline")
    p.add_argument("--seed", type=int, default=0, help="ties, k-means start and random picks")
    p.add_argument("--measure", choices=TAG_MEASURES, default="margin", help="per-word tag uncertainty")
    p.add_argument("--clusters", type=int, help="diverse: number of clusters (default: k, one pick per cluster)")
    p.add_argument("--exclude", nargs="*", default=[], help="JSONL files of already labelled records: their ids are skipped")
    p.add_argument("--text-field", default="text")
    p.add_argument("--id-field", default="id")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--score-random", action="store_true", help="random: still score the picks (needs --model)")
    p.add_argument("--html", help="also write an HTML table of the picks")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(fn=cmd_select)
