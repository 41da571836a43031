"""rasid-predict --engine ray: the same job on Ray Data, for one machine or a cluster.

    rasid-predict --engine ray --model DIR --input 's3://bucket/news/*.parquet' --output out_dir
    RAY_ADDRESS=ray://head:10001 rasid-predict --engine ray ...   # an existing cluster

Input files are read by ``ray.data`` readers, a pool of predictor actors
(one model each) runs ``map_batches``, and output is written as shards:
``OUTPUT/part-*.jsonl`` with the record format of the local engine, and bad
records in ``OUTPUT/errors/part-*.jsonl``. The model directory must be
readable from every node (a shared filesystem or a copy at the same path).
"""

from __future__ import annotations

import json
import os

from .batch import check_record
from .readers import dumps, input_format


class _PredictBatch:
    """A Ray actor: loads the checkpoint once, predicts batches of rows."""

    def __init__(self, model: str, backend: str, threads: int | None, text_field: str, id_field: str,
                 keep_text: bool, fmt: str, batch_size: int):
        from .predictor import Predictor

        self.p = Predictor.from_pretrained(model, backend=backend, num_threads=threads)
        self.text_field, self.id_field, self.keep_text = text_field, id_field, keep_text
        self.fmt, self.batch_size = fmt, batch_size

    def _rows(self, batch: dict) -> list[tuple[dict | None, str | None]]:
        n = len(next(iter(batch.values()))) if batch else 0
        if self.fmt == "jsonl":  # rows of raw lines: parse here so bad JSON becomes a per-record error
            out = []
            for line in batch["text"]:
                try:
                    rec = json.loads(line)
                    out.append((rec, None) if isinstance(rec, dict) else (None, "expected a JSON object"))
                except (json.JSONDecodeError, RecursionError) as exc:  # no line numbers in Ray: show the start
                    out.append((None, f"invalid JSON: {exc}; line starts {line[:80]!r}"))
            return out
        cols = list(batch)
        return [({c: _plain(batch[c][i]) for c in cols}, None) for i in range(n)]

    def __call__(self, batch: dict) -> dict:
        rows = self._rows(batch)
        errs = [err or check_record(rec, self.text_field) for rec, err in rows]
        good = [rec[self.text_field] for (rec, _), err in zip(rows, errs) if err is None]
        preds = iter(self.p.predict(good, batch_size=self.batch_size)) if good else iter(())
        lines, kinds = [], []
        for (rec, _), err in zip(rows, errs):
            rid = rec.get(self.id_field) if isinstance(rec, dict) else None
            if err is not None:
                lines.append(dumps({"line": None, "id": rid, "error": err}))
                kinds.append("error")
                continue
            out = {"id": rid}
            out.update({k: v for k, v in rec.items() if k != self.id_field and (k != self.text_field or self.keep_text)})
            out.update(next(preds))
            lines.append(dumps(out))
            kinds.append("ok")
        return {"line": lines, "kind": kinds}


def _plain(v):
    """numpy scalars from Arrow columns -> Python values for JSON."""
    return v.item() if hasattr(v, "item") and getattr(v, "ndim", 1) == 0 else v


def _line_sink(path: str):
    from ray.data.datasource import BlockBasedFileDatasink

    class LineSink(BlockBasedFileDatasink):
        def write_block_to_file(self, block, file):
            for line in block.to_pandas()["line"]:
                file.write((line + "\n").encode("utf-8"))

    return LineSink(path, file_format="jsonl")


def run_ray(args) -> dict:
    try:
        import ray
        import ray.data
    except ImportError:
        raise ValueError("--engine ray needs Ray Data: pip install 'rasid-inference[ray]'") from None
    fmt = input_format(args.input)
    if args.input == "-":
        raise ValueError("--engine ray reads files, not stdin")
    if os.path.exists(args.output) and not args.overwrite:
        raise ValueError(f"{args.output} exists; use --overwrite (Ray jobs restart whole; --resume is for the local engine)")
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), num_cpus=getattr(args, "ray_cpus", None),
                 include_dashboard=False, log_to_driver=False)
    # Reading is I/O: a quarter CPU per read task leaves the cores to the predictors.
    read = {"jsonl": ray.data.read_text, "csv": ray.data.read_csv, "parquet": ray.data.read_parquet}[fmt]
    ds = read(args.input, num_cpus=0.25)
    threads = max(1, args.threads or 1)
    workers = getattr(args, "ray_workers", 0) or max(1, int(ray.cluster_resources().get("CPU", 1) // threads))
    out = ds.map_batches(
        _PredictBatch,
        fn_constructor_kwargs=dict(model=os.path.abspath(args.model), backend=args.backend, threads=args.threads,
                                   text_field=args.text_field, id_field=args.id_field, keep_text=args.keep_text,
                                   fmt=fmt, batch_size=args.batch_size),
        # an autoscaling pool: one actor at once, up to `workers` as resources free up
        batch_size=args.chunk_size, concurrency=(1, workers), num_cpus=threads, batch_format="numpy",
    ).materialize()
    if os.path.exists(args.output):
        import shutil

        shutil.rmtree(args.output)
    out.filter(expr="kind == 'ok'").write_datasink(_line_sink(args.output))
    errors = out.filter(expr="kind == 'error'")
    n_err = errors.count()
    if n_err:
        errors.write_datasink(_line_sink(os.path.join(args.output, "errors")))
    total = out.count()
    return {"ok": total - n_err, "errors": n_err, "done": total}
