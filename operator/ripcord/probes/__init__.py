"""The edge of the gates: the HTTP calls the engine plans (pre-traffic gate requests, gating webhooks).

:mod:`.http` makes one call with a hard deadline and reads only the first bytes of the
answer; :mod:`.target` turns the canary's Service into the address the operator's
configuration says (never a URL from a Release); :mod:`.prober` runs what the read plan
asks for on a bounded pool and hands the replies back to the engine.
"""
