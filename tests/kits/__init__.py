"""Builders and references the tests share, one module per thing built.

- `domain`: instants from text and case events, for the domain's tests.
- `figures`: random case stories for comparing fast figures paths with the fold.
- `aggregator`: event payloads and hand-off events as intake hands them on, a hand-built
  story, migrated databases, and the slow reference `verify` the fast one is held to.
- `reporter`: fake figures sources and replies for the reporter's tests, and the
  appendix builder `kit_appendix`.
- `seed002`: traffic shaped like seed 002 (People's Committee, police and military
  dossiers by field), as contract payloads and as domain events.
- `rfc3339`: the datetime-based reference the arithmetic timestamp parser is held to.
- `reliability`: service processes, desk traffic and exact checks for the fault tests.
"""
