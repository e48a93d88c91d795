# Two commands do all set-up on a fresh Debian machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEBS := chromium mosquitto ffmpeg openssl python3-gi gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 \
	gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad samba smbclient \
	snmp snmptrapd dbus avahi-daemon avahi-utils lldpd baresip kamailio kamailio-tls-modules sip-tester coturn \
	rsyslog rsyslog-gnutls tcpdump iputils-ping tshark \
	dnsmasq-base bind9 bind9-dnsutils tinyproxy-bin \
	nodejs npm openssh-client \
	libdbus-1-dev libglib2.0-dev \
	onvif-tools \
	pulseaudio pulseaudio-utils \
	nftables hostapd wpasupplicant \
	bubblewrap
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench venv debs clean wheel

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

run: venv
	$(VENV)/bin/vigil run --profile s3016 --data ./data --http-port 8080 --https-port 8443 --test-cameras 2

# The wheel to install Vigil on a machine (README: "Installing on a machine").
wheel: venv
	$(PY) -m pip wheel -q --no-deps --no-build-isolation -w dist .

# npm counts as there when its command is: NodeSource's nodejs package brings its own npm, which
# Debian's npm package conflicts with.
debs:
	@missing=""; for p in $(DEBS); do \
	  case $$p in npm) command -v npm >/dev/null && continue;; esac; \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    --no-install-recommends $$missing; \
	fi

lint: venv
	$(VENV)/bin/ruff check vigil tests bench

test: debs venv lint
	$(VENV)/bin/pytest -q -p no:cacheprovider

bench: venv
	$(PY) bench/http.py
	$(PY) bench/events.py
	$(PY) bench/mqtt.py

clean:
	rm -rf $(VENV) data dist build
