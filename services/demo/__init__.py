"""`tthc demo`: the main job end to end on this machine (what `scripts/demo.sh` runs).

- `plan`: what to publish (communes, period, rate) from the arguments;
- `cli`: the command: a local nats-server when none is reachable, then the run;
- `run`: the services started with `tthc run`'s own lifecycle, desk traffic published,
  the wait until every event is in the figures, a check that it is;
- `output`: the summary and the appendices printed.

A composition root, like services/cli.py: it may use every service.
"""
