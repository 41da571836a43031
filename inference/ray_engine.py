"""rasid-predict --engine ray: the same job on Ray Data, for one machine or a cluster.

    rasid-predict --engine ray --model DIR --input 's3://bucket/news/*.parquet' --output out_dir
    RAY_ADDRESS=ray://head:10001 rasid-predict --engine ray ...   # an existing cluster

Input files are read by Ray Data read tasks running rasid's own readers (so
positions, ids and per-record errors are those of the local engine), a pool of
predictor actors (one model each) runs ``map_batches``, and the driver streams
the results into shards as they arrive: ``OUTPUT/part-*.jsonl`` with the
record format and order of the local engine, and bad records in
``OUTPUT/errors/part-*.jsonl``. Nothing holds the whole output: only the
batches in flight are in the object store. The model directory must be
readable from every node (a shared filesystem or a copy at the same path).
"""

from __future__ import annotations

import io
import json
import os

from .batch import check_record, predict_items
from .readers import csv_items, dumps, input_format, jsonl_items, read_parquet

LINES_PER_SHARD = 100_000


class _PredictBatch:
    """A Ray actor: loads the checkpoint once, predicts batches of reader items."""

    def __init__(self, model: str, backend: str, threads: int | None, text_field: str, id_field: str,
                 keep_text: bool, batch_size: int | None, device: str = "auto", dtype: str = "auto"):
        from .predictor import Predictor

        self.p = Predictor.from_pretrained(model, backend=backend, num_threads=threads, device=device, dtype=dtype)
        self.text_field, self.id_field, self.keep_text = text_field, id_field, keep_text
        self.batch_size = batch_size

    def __call__(self, batch: dict) -> dict:
        items = [tuple(json.loads(s)) for s in batch["item"]]
        outputs, errors = predict_items(self.p, items, self.text_field, self.id_field, self.keep_text,
                                        self.batch_size)
        return {"line": [dumps(out) for out, _ in outputs] + [dumps(e) for e in errors],
                "kind": ["ok"] * len(outputs) + ["error"] * len(errors)}


def _records_datasource(paths: str, fmt: str, text_field: str, rows_per_block: int = 1024):
    """A Ray datasource yielding rasid reader items ``(position, record, error)``,
    one JSON string each (column ``item``), checked already so that a field
    that is not a string stays an error whatever JSON makes of it."""
    import pyarrow as pa
    from ray.data.datasource import FileBasedDatasource

    class RecordsDatasource(FileBasedDatasource):
        def _open_input_source(self, filesystem, path, **open_args):
            if fmt == "parquet":  # Parquet is read by random access, not as a stream
                return filesystem.open_input_file(path)
            return super()._open_input_source(filesystem, path, **open_args)

        def _read_stream(self, f, path):
            if fmt == "parquet":
                items = read_parquet(f, where=path)
            else:
                lines = io.BufferedReader(f, 1 << 20)
                items = (jsonl_items(lines) if fmt == "jsonl"
                         else csv_items(lines, "\t" if path.lower().endswith(".tsv") else ",", path))
            rows = []
            for pos, rec, err in items:
                rows.append(dumps([pos, rec, err or check_record(rec, text_field)]))
                if len(rows) >= rows_per_block:
                    yield pa.table({"item": pa.array(rows, pa.string())})
                    rows = []
            if rows:
                yield pa.table({"item": pa.array(rows, pa.string())})

    return RecordsDatasource(paths)


class _Shards:
    """Lines into ``DIR/part-00000.jsonl``, ``part-00001.jsonl``, ...: a new shard every ``per_shard`` lines."""

    def __init__(self, fs, root: str, per_shard: int = LINES_PER_SHARD):
        self.fs, self.root, self.per_shard = fs, root, per_shard
        self.n, self.f = 0, None

    def write(self, lines: list[str]) -> None:
        while lines:
            if self.n % self.per_shard == 0:
                self.close()
                if self.n == 0:
                    self.fs.create_dir(self.root, recursive=True)
                self.f = self.fs.open_output_stream(f"{self.root}/part-{self.n // self.per_shard:05d}.jsonl",
                                                    buffer_size=1 << 20)
            room = self.per_shard - self.n % self.per_shard
            part, lines = lines[:room], lines[room:]
            self.f.write("".join(line + "\n" for line in part).encode("utf-8"))
            self.n += len(part)

    def close(self) -> None:
        if self.f is not None:
            self.f.close()
            self.f = None


def _output_fs(output: str):
    import pyarrow.fs as pafs

    if "://" in output:
        return pafs.FileSystem.from_uri(output)
    return pafs.LocalFileSystem(), os.path.abspath(output)


def run_ray(args) -> dict:
    try:
        import pyarrow.fs as pafs
        import ray
        import ray.data
    except ImportError:
        raise ValueError("--engine ray needs Ray Data: pip install 'rasid-inference[ray]'") from None
    fmt = input_format(args.input)
    if args.input == "-":
        raise ValueError("--engine ray reads files, not stdin")
    fs, root = _output_fs(args.output)
    existing = fs.get_file_info(root).type
    if existing != pafs.FileType.NotFound and not args.overwrite:
        raise ValueError(f"{args.output} exists; use --overwrite (Ray jobs restart whole; --resume is for the local engine)")
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), num_cpus=getattr(args, "ray_cpus", None),
                 include_dashboard=False, log_to_driver=False)
    ctx = ray.data.DataContext.get_current()
    preserve_order = ctx.execution_options.preserve_order
    ctx.execution_options.preserve_order = True  # shards hold the records in input order, as the local file does
    try:
        # Reading is I/O: a quarter CPU per read task leaves the cores to the predictors.
        ds = ray.data.read_datasource(_records_datasource(args.input, fmt, args.text_field), num_cpus=0.25)
        threads = max(1, args.threads or 1)
        workers = getattr(args, "ray_workers", 0) or max(1, int(ray.cluster_resources().get("CPU", 1) // threads))
        out = ds.map_batches(
            _PredictBatch,
            fn_constructor_kwargs=dict(model=os.path.abspath(args.model), backend=args.backend, threads=args.threads,
                                       text_field=args.text_field, id_field=args.id_field, keep_text=args.keep_text,
                                       batch_size=args.batch_size, device=getattr(args, "device", "auto"),
                                       dtype=getattr(args, "dtype", "auto")),
            # an autoscaling pool: one actor at once, up to `workers` as resources free up
            batch_size=args.chunk_size, concurrency=(1, workers), num_cpus=threads, batch_format="numpy",
        )
        if existing == pafs.FileType.Directory:
            fs.delete_dir(root)
        elif existing != pafs.FileType.NotFound:
            fs.delete_file(root)
        fs.create_dir(root, recursive=True)
        ok, errors = _Shards(fs, root), _Shards(fs, f"{root}/errors")
        try:
            # Stream: each batch is written as it arrives; only the batches in flight are held.
            for batch in out.iter_batches(batch_size=None, batch_format="numpy"):
                kinds = list(batch["kind"])
                ok.write([str(line) for line, k in zip(batch["line"], kinds) if k == "ok"])
                errors.write([str(line) for line, k in zip(batch["line"], kinds) if k == "error"])
        finally:
            ok.close()
            errors.close()
    finally:
        ctx.execution_options.preserve_order = preserve_order
    return {"ok": ok.n, "errors": errors.n, "done": ok.n + errors.n}
