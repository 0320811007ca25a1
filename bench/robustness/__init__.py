"""``make bench-robustness``: a bad Release, a killed operator or a slow cluster harms nothing else.

Parts (``BENCH_PARTS=fuzz,chaos,outage``), one module each, each printing its table and
returning its figures; ``report`` merges them into the last line printed (JSON).
"""
