"""Operations across the whole pipeline: what an operator asks of the running system.

`tthc status`: every stream and consumer of the pipeline, and how far the aggregator's
database has applied the log of record (what it lacks, what is lost). It reads the
broker (shared/pipeline.py) and the aggregator's database (read-only).
"""
