"""The reporter: turns figures into the period-end statistical appendix and freezes it.

It owns the presentation of the figures, never the figures themselves (they come
through `shared.ports.FiguresSource`):

- the forms as data: `templates.py`, `template_parse.py`, `templates/*.json`, with
  the names of agencies and fields (`labels.py`, `labels.json`);
- the appendix object (`appendix.py`) built from a figures reply: its tables
  (`tables.py`), checks (`checks.py`), document lines (`document.py`, `units.py`),
  the office's values (`office.py`) and the deployment's settings (`deployment.py`);
- the files, one module per format (`render/`);
- the commands `tthc appendix` and `tthc snapshots` (`cli.py`, `cli_snapshots.py`,
  `compose.py`) and the scheduled snapshots (`service.py`, `snapshots.py`,
  `snapshot_store.py`, `notify.py`, `metrics.py`), figures over NATS (`figsource.py`).
"""
