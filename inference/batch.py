"""rasid-predict: batch inference over JSONL, CSV or Parquet, resumable.

    rasid-predict --model DIR --input articles.jsonl --output predictions.jsonl
    rasid-predict --model DIR --input news.parquet --output out.parquet --text-field body --id-field url
    rasid-predict ... --resume         # after a crash or kill: finish the job, nothing twice
    rasid-predict ... --format labelstudio --output tasks.json   # Label Studio tasks + tasks.labelstudio.xml

Records are read in chunks. After each chunk the output and error lines are
flushed and fsynced, then a small state file records how many input records
and how many output bytes are final. ``--resume`` truncates anything written
after the last committed chunk and continues from there, so every input
record ends up in the output (or the errors file) exactly once, and the bytes
equal those of an uninterrupted run. Parquet output is written from the
finished JSONL journal at the end.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

from .readers import dumps, read_records


class JobError(Exception):
    pass


class AlreadyComplete(JobError):
    """--resume on a job that finished: nothing to do, the output stays as it is."""


def _paths(output: str, fmt: str | None = None) -> dict[str, Path]:
    out = Path(output)
    direct = out.suffix.lower() in (".jsonl", ".json", ".ndjson") and fmt != "labelstudio"
    journal = out if direct else out.with_name(out.name + ".partial.jsonl")
    return {"output": out, "journal": journal, "errors": out.with_name(out.name + ".errors.jsonl"),
            "state": out.with_name(out.name + ".state.json")}


def _write_state(path: Path, state: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state), encoding="utf-8")
    os.replace(tmp, path)


def check_record(rec: dict | None, text_field: str) -> str | None:
    """Why a record cannot be predicted, or None."""
    if text_field not in rec:
        return f"missing field {text_field!r}"
    text = rec[text_field]
    if not isinstance(text, str):
        return f"field {text_field!r} is {type(text).__name__}, not a string"
    if not text.strip():
        return f"field {text_field!r} is empty"
    return None


def predict_items(predictor, items, text_field: str, id_field: str, keep_text: bool,
                  batch_size: int) -> tuple[list[tuple[dict, dict]], list[dict]]:
    """Predict reader items ``(position, record, error)``, in input order.

    Returns the output records, each with the input record it came from, and
    the error records. A record's id is its ``id_field``, else its position in
    the input (the line number for JSONL). Both engines use this, so their
    records are the same.
    """
    checked, good = [], []
    for pos, rec, err in items:
        err = err or check_record(rec, text_field)
        checked.append((pos, rec, err))
        if err is None:
            good.append(rec[text_field])
    preds = iter(predictor.predict(good, batch_size=batch_size)) if good else iter(())
    outputs, errors = [], []
    for pos, rec, err in checked:
        if err is not None:
            rid = rec.get(id_field) if isinstance(rec, dict) else None
            errors.append({"line": pos, "id": rid, "error": err})
            continue
        out = {"id": rec.get(id_field, pos)}
        out.update({k: v for k, v in rec.items() if k != id_field and (k != text_field or keep_text)})
        out.update(next(preds))
        outputs.append((out, rec))
    return outputs, errors


class Progress:
    """tqdm on a terminal; a plain line every ``every`` seconds otherwise."""

    def __init__(self, total, initial: int, enabled: bool, every: float = 30.0):
        """``total``: the record count, or a callable counting them, called only when a bar is shown."""
        self.tty = enabled and sys.stderr.isatty()
        if callable(total):
            total = total() if self.tty else None
        self.n, self.total, self.every = initial, total, every
        self.start, self.last = time.monotonic(), time.monotonic()
        self.initial = initial
        self.bar = None
        if self.tty:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, unit="doc", dynamic_ncols=True, smoothing=0.1)

    def update(self, k: int) -> None:
        self.n += k
        if self.bar is not None:
            self.bar.update(k)
            return
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            rate = (self.n - self.initial) / max(now - self.start, 1e-9)
            eta = f", ETA {((self.total - self.n) / rate) / 60:.1f} min" if self.total and rate > 0 else ""
            of = f"/{self.total}" if self.total else ""
            print(f"rasid-predict: {self.n}{of} records, {rate:.1f} records/s{eta}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _count_lines(path: str) -> int | None:
    """Cheap total for the progress bar (JSONL only; others have no cheap count)."""
    if path == "-" or not path.lower().endswith((".jsonl", ".ndjson", ".json")):
        return None
    n = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            n += block.count(b"\n")
    return n


def run(args, predictor=None) -> dict:
    from .predictor import Predictor

    fmt = getattr(args, "format", None)
    paths = _paths(args.output, fmt)
    keep_text = args.keep_text or fmt == "labelstudio"  # a Label Studio task shows the text it annotates
    state = {"done": 0, "output_bytes": 0, "error_bytes": 0, "ok": 0, "errors": 0}
    if args.resume and paths["state"].is_file():
        state = json.loads(paths["state"].read_text(encoding="utf-8"))
    elif args.resume and paths["output"].exists():
        # a retried job that had in fact finished: success, and the output is left as it is
        raise AlreadyComplete(f"{paths['output']} is already complete (no unfinished job beside it); nothing to do")
    elif not args.resume and not args.overwrite and (paths["output"].exists() or paths["state"].exists()):
        raise JobError(f"{paths['output']} exists; use --resume to continue that job or --overwrite to start again")
    records = read_records(args.input)  # fails early on a missing file or unknown format
    if predictor is None:
        predictor = Predictor.from_pretrained(args.model, backend=args.backend, num_threads=args.threads,
                                              device=args.device, dtype=args.dtype)
    if state["done"] == 0:  # a fresh job: record it before writing anything
        paths["journal"].unlink(missing_ok=True)
        paths["errors"].unlink(missing_ok=True)
        _write_state(paths["state"], state)
    # Open journal and errors; drop bytes written after the last committed chunk.
    out_f = open(paths["journal"], "ab")
    err_f = open(paths["errors"], "ab")
    out_f.truncate(state["output_bytes"])
    err_f.truncate(state["error_bytes"])
    out_f.seek(0, os.SEEK_END)
    err_f.seek(0, os.SEEK_END)
    html_docs: list[dict] = []
    if args.html and state["done"]:  # the report covers the whole job: first the documents already written
        records = _skip_committed(records, state["done"], paths["journal"], args, html_docs)
    else:
        records = itertools.islice(records, state["done"], None)
    progress = Progress(lambda: _count_lines(args.input), state["done"], not args.quiet)
    try:
        while True:
            chunk = list(itertools.islice(records, args.chunk_size))
            if not chunk:
                break
            outputs, errors = predict_items(predictor, chunk, args.text_field, args.id_field, keep_text,
                                            args.batch_size)
            out_buf = [dumps(out) + "\n" for out, _ in outputs]
            err_buf = [dumps(e) + "\n" for e in errors]
            if args.html:
                html_docs.extend({**out, "text": rec[args.text_field]}
                                 for out, rec in outputs[: max(0, args.html_limit - len(html_docs))])
            data, edata = "".join(out_buf).encode("utf-8"), "".join(err_buf).encode("utf-8")
            out_f.write(data)
            err_f.write(edata)
            for f in (out_f, err_f):
                f.flush()
                os.fsync(f.fileno())
            state = {"done": state["done"] + len(chunk), "output_bytes": state["output_bytes"] + len(data),
                     "error_bytes": state["error_bytes"] + len(edata), "ok": state["ok"] + len(out_buf),
                     "errors": state["errors"] + len(err_buf)}
            _write_state(paths["state"], state)
            progress.update(len(chunk))
    finally:
        progress.close()
        out_f.close()
        err_f.close()
    if fmt == "labelstudio":
        _journal_to_labelstudio(paths["journal"], paths["output"], predictor, args)
    elif paths["journal"] != paths["output"] and paths["journal"].exists():
        _journal_to_parquet(paths["journal"], paths["output"])
    if args.html:
        from .report import render_predictions_html

        Path(args.html).write_text(render_predictions_html(html_docs), encoding="utf-8")
    if state["errors"] == 0:
        paths["errors"].unlink(missing_ok=True)
    paths["state"].unlink(missing_ok=True)  # the job is complete
    return state


def _skip_committed(records, done: int, journal: Path, args, html_docs: list[dict]):
    """Advance ``records`` past the ``done`` committed records, collecting into
    ``html_docs`` the report documents among them: each committed output line
    of the journal with the text of its input record. Returns the rest."""
    records = iter(records)
    taken = 0
    with open(journal, "rb") as jf:
        while taken < done and len(html_docs) < args.html_limit:
            item = next(records, None)
            if item is None:
                break
            taken += 1
            _, rec, err = item
            if (err or check_record(rec, args.text_field)) is None:  # the record has the next output line
                html_docs.append({**json.loads(jf.readline()), "text": rec[args.text_field]})
    return itertools.islice(records, done - taken, None)


def _journal_to_labelstudio(journal: Path, output: Path, predictor, args) -> None:
    """JSONL journal -> one Label Studio task list (a JSON array, so written at
    the end) and the labelling config for the model's labels."""
    from .labelstudio import model_version, write_tasks

    with open(journal, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    cfg = getattr(predictor, "config", None)
    ents = list(cfg.entity_labels) if cfg is not None else None
    types = list(cfg.attack_types) if cfg is not None else None
    version = args.model_version or (model_version(args.model) if args.model else "rasid")
    _, xml = write_tasks(records, output, version, args.text_field, ents, types, args.config_xml)
    print(f"rasid-predict: Label Studio tasks in {output}, labelling config in {xml}", file=sys.stderr)
    journal.unlink()


def _journal_to_parquet(journal: Path, output: Path, rows_per_group: int = 2048) -> None:
    """JSONL journal -> Parquet, streaming. Nested fields are stored as JSON strings
    (``entities``, ``attack_types``, ``events``) so the schema is stable across files."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise JobError("writing Parquet needs pyarrow: pip install 'rasid-inference[parquet]'") from None
    tmp = output.with_name(output.name + ".tmp")
    writer = None
    try:
        with open(journal, encoding="utf-8") as f:
            while True:
                rows = [json.loads(line) for line in itertools.islice(f, rows_per_group)]
                if not rows:
                    break
                for r in rows:
                    for k in ("entities", "attack_types", "events"):
                        r[k] = json.dumps(r.get(k, []), ensure_ascii=False)
                    r["id"] = str(r["id"])
                table = pa.Table.from_pylist(rows)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema) if table.schema != writer.schema else table)
        if writer is None:
            pq.write_table(pa.table({"id": pa.array([], pa.string())}), tmp)
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, output)
    journal.unlink()


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="rasid-predict", description="Batch inference with a rasid checkpoint.")
    ap.add_argument("--model", required=True, help="checkpoint directory")
    ap.add_argument("--input", required=True, help=".jsonl, .csv, .tsv, .parquet, or - for JSONL on stdin")
    ap.add_argument("--output", required=True, help=".jsonl or .parquet")
    ap.add_argument("--text-field", default="text", help="field holding the article text (default: text)")
    ap.add_argument("--id-field", default="id", help="field holding the record id (default: id; else the line number)")
    ap.add_argument("--keep-text", action="store_true", help="copy the text field into the output too")
    ap.add_argument("--resume", action="store_true", help="continue an interrupted job writing to --output")
    ap.add_argument("--overwrite", action="store_true", help="start again even if --output exists")
    ap.add_argument("--allow-errors", action="store_true", help="exit 0 even when some records failed")
    ap.add_argument("--batch-size", type=int, default=None,
                    help="segments per forward pass (default: 32 on cpu, 64 on mps, 128 on cuda)")
    ap.add_argument("--chunk-size", type=int, default=256, help="records per committed chunk")
    ap.add_argument("--backend", default="torch", choices=["torch", "onnx"])
    ap.add_argument("--device", default="auto",
                    help="auto (cuda, else mps, else cpu), cpu, cuda, cuda:N or mps (onnx: cpu or cuda)")
    ap.add_argument("--dtype", default="auto", choices=["auto", "float32", "float16", "bfloat16"],
                    help="compute precision, torch backend (auto: bf16/fp16 on a GPU, fp32 on cpu)")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (default: all)")
    ap.add_argument("--engine", default="local", choices=["local", "ray"], help="ray: distributed with Ray Data")
    ap.add_argument("--ray-workers", type=int, default=0, help="predictor actors (default: CPUs / --threads)")
    ap.add_argument("--ray-cpus", type=int, default=None, help="CPUs of a local Ray instance (default: all)")
    ap.add_argument("--format", choices=["jsonl", "parquet", "labelstudio"],
                    help="output format (default: by the --output extension); labelstudio: a JSON task list with "
                         "pre-annotations, plus the labelling config (OUTPUT.labelstudio.xml or --config-xml)")
    ap.add_argument("--config-xml", help="--format labelstudio: where to write the labelling config")
    ap.add_argument("--model-version", help="--format labelstudio: model_version of the predictions "
                                            "(default: model directory name @ weights hash)")
    ap.add_argument("--html", help="also write an HTML report of the first --html-limit documents")
    ap.add_argument("--html-limit", type=int, default=500)
    ap.add_argument("--quiet", action="store_true", help="no progress output")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from rasid.models.modeling import CheckpointError

    if (args.batch_size is not None and args.batch_size < 1) or args.chunk_size < 1:
        print("rasid-predict: error: --batch-size and --chunk-size must be positive", file=sys.stderr)
        return 2
    if args.format == "labelstudio" and args.engine == "ray":
        print("rasid-predict: error: --format labelstudio writes one task list: use the local engine", file=sys.stderr)
        return 2
    if args.format == "parquet" and not args.output.lower().endswith(".parquet") or \
            args.format == "jsonl" and args.output.lower().endswith(".parquet"):
        print(f"rasid-predict: error: --format {args.format} does not match --output {args.output}", file=sys.stderr)
        return 2
    try:
        if args.engine == "ray":
            from .ray_engine import run_ray

            state = run_ray(args)
        else:
            state = run(args)
    except AlreadyComplete as exc:
        print(f"rasid-predict: {exc}", file=sys.stderr)
        return 0
    except (JobError, CheckpointError, FileNotFoundError, ValueError) as exc:
        print(f"rasid-predict: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rasid-predict: interrupted; run again with --resume to finish", file=sys.stderr)
        return 130
    errors_at = os.path.join(args.output, "errors") if args.engine == "ray" else _paths(args.output, args.format)["errors"]
    err_note = f" (see {errors_at})" if state["errors"] else ""
    print(f"rasid-predict: {state['ok']} records predicted, {state['errors']} failed{err_note}; output {args.output}",
          file=sys.stderr)
    return 1 if state["errors"] and not args.allow_errors else 0


if __name__ == "__main__":
    sys.exit(main())
