"""The aggregator's database, SQLite or PostgreSQL.

- `schema`: the tables; `migrations/`: how they came to be (Alembic).
- `engine`: engines, pragmas, migrations, WAL checkpoints, data-free error text.
- `dialect`: what differs between SQLite and PostgreSQL, said once.
- `rows`: the row codec (a folded case <-> its `case_state` row; event columns).
- `meta`: counters and the applied position, written in each batch's transaction.
- `apply`: a batch of accepted events applied exactly once; `cache`: the writer's cache;
  `statements`: the reads and writes a batch runs; `pgcopy`: PostgreSQL's `COPY` path.
- `sqlrules`: the domain's figure rules compiled to SQL.
- `queries`: the figures of a unit and window; `figcache`: their per-version cache;
  `live`: the live gauges' figures; `reader`: the in-process, read-only source.
"""
