"""``make demo`` / ``python -m demo``: the post-mortem's 2.0.0 incident replayed on the sandbox.

Ripcord catches the faulty version at a small canary weight and rolls it back on its own,
then promotes the fix; the same 2.0.0 as a plain rolling update, undone after the
post-mortem's 45 s of failing health checks, runs beside it for comparison. The demo prints
the Release's timeline, the figures measured from the gateway's record, writes a chart, and
ends with one JSON line. See :mod:`demo.scenario` for the steps.
"""
