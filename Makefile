# The two commands a newcomer needs on a fresh Debian machine (both install what they need).
.PHONY: demo test sanity

demo:  ## Start a local OpenStack and upstream mirror, run the collection against them, stop everything.
	./tools/demo.sh

test:  ## Everything CI runs: ansible-test sanity, ansible-lint, changelog lint, unit and integration tests.
	./tools/test.sh

sanity:
	./tools/bootstrap.sh && ./tools/sanity.sh
