# The browser the end-to-end test drives: Debian's Chromium and its chromedriver, from the distribution's packages
# (nothing downloads a browser). Needs root; a no-op when both are installed.
.PHONY: browser

browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
		echo "chromium and chromedriver are installed"; \
	else \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			chromium chromium-driver; \
	fi
