# `make demo`: the post-mortem's 2.0.0 incident replayed on the sandbox, with Ripcord and
# without it (python -m demo --help). PROVIDER=gateway-api (default) or PROVIDER=replicas.
# `make demo-ci`: the shortened run CI uses; it checks the outcomes, not the timings.
PROVIDER ?= gateway-api

.PHONY: demo demo-ci

demo: setup ## replay the incident (about 4 minutes), print the timeline and figures, write a chart under out/
	$(PYTHON) -m demo --provider $(PROVIDER)

demo-ci: setup ## the shortened demo (about 2 minutes); exits non-zero unless 2.0.0 is rolled back and 2.0.1 promoted
	$(PYTHON) -m demo --ci --provider $(PROVIDER)
